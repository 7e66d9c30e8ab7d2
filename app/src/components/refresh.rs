//! Shows the current page again, as the server renders it now, without loading a new document: after a form changed
//! what the page shows, or when a background check finished.
//!
//! The page is fetched as a reload would fetch it (same address, same cookies), its body takes the place of the one
//! shown, and the islands in it are hydrated the way Leptos's island script hydrates them at load. The whole body is
//! replaced rather than only `<main>`: the top bar and the account's heading show the account's name, which a form
//! (renaming) changes. The user keeps their place: the scroll position stays, and the keyboard focus goes back to
//! the same control, or to the page's heading when that control is gone. What cannot be shown in place is loaded
//! as a whole page: a failed fetch or an error answer (reloaded), a redirect (such as to sign in: followed).
//!
//! The islands that were shown keep their reactive state (Leptos never releases an island's), but their elements
//! are gone: an island that repeats something by itself must stop once its element is no longer connected (see
//! `DomainWatch`).

use leptos::prelude::{document, window};
use std::cell::Cell;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Document, Element, HtmlElement, HtmlFormElement, NodeList};

thread_local! {
    /// How many refreshes were asked for, so that an answer arriving after a later request's is dropped.
    static ASKED: Cell<u32> = const { Cell::new(0) };
}

/// Shows the page again with what the server renders now. `submitted` is the form whose success asked for it: the
/// focus goes back into it when nothing has the focus (its button was disabled while it was sent).
pub(crate) fn refresh_page(submitted: Option<HtmlFormElement>) {
    let this = ASKED.with(|asked| {
        asked.set(asked.get().wrapping_add(1));
        asked.get()
    });
    leptos::task::spawn_local(async move {
        let answer = fetch_current_page().await;
        if ASKED.with(Cell::get) != this {
            return;
        }
        let location = window().location();
        let shown = match answer {
            Some(Answer::Page(page)) => show(&page, submitted.as_ref()).await,
            Some(Answer::Elsewhere(url)) => location.assign(&url).ok(),
            None => None,
        };
        if shown.is_none() {
            let _ = location.reload();
        }
    });
}

enum Answer {
    /// The page, rendered.
    Page(Document),
    /// The server sent the browser to this address instead, say to sign in again.
    Elsewhere(String),
}

/// Asks the server for the page at the current address; `None` when the answer cannot be shown in place.
async fn fetch_current_page() -> Option<Answer> {
    let headers = web_sys::Headers::new().ok()?;
    // For a page's HTML the server answers a redirect as one, rather than as an empty page with a header.
    headers.set("Accept", "text/html").ok()?;
    let init = web_sys::RequestInit::new();
    init.set_headers(&headers);
    // The page has just changed: a cached copy would show it as it was.
    init.set_cache(web_sys::RequestCache::NoCache);
    let address = window().location().href().ok()?;
    let response: web_sys::Response = JsFuture::from(window().fetch_with_str_and_init(&address, &init))
        .await
        .ok()?
        .dyn_into()
        .ok()?;
    if response.redirected() {
        return Some(Answer::Elsewhere(response.url()));
    }
    if !response.ok() {
        return None;
    }
    let html = JsFuture::from(response.text().ok()?).await.ok()?.as_string()?;
    let page = web_sys::DomParser::new()
        .ok()?
        .parse_from_string(&html, web_sys::SupportedType::TextHtml)
        .ok()?;
    // Every page puts its content in `<main>`; anything else is left to the browser.
    page.query_selector("main").ok()??;
    Some(Answer::Page(page))
}

/// Puts the body of `page` in place of the one shown and hydrates its islands. `None`, with nothing changed, when
/// the island script that hydrates islands is not there.
async fn show(page: &Document, submitted: Option<&HtmlFormElement>) -> Option<()> {
    let hydrate_island: js_sys::Function = js_sys::Reflect::get(&window(), &"__hydrateIsland".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let document = document();
    let (body, new_body) = (document.body()?, page.body()?);
    let focus = Focus::remember(&document, submitted);
    let (x, y) = (
        window().scroll_x().unwrap_or_default(),
        window().scroll_y().unwrap_or_default(),
    );
    document.set_title(&page.title());
    body.replace_children_with_node(&js_sys::Array::from(&new_body.child_nodes()));
    hydrate_islands(&body, &hydrate_island).await;
    focus.restore(&document);
    window().scroll_to_with_x_and_y(x, y);
    Some(())
}

/// Hydrates the islands in `root` as the island script does at load: in document order, each island nested in
/// another one's children after the outer island's reactive owner was set (its `<leptos-children>`' `$$on_hydrate`).
async fn hydrate_islands(root: &Element, hydrate_island: &js_sys::Function) {
    for island in elements(root.query_selector_all("leptos-island")) {
        let set_outer_owner = island
            .closest("leptos-children")
            .ok()
            .flatten()
            .and_then(|children| js_sys::Reflect::get(&children, &"$$on_hydrate".into()).ok())
            .and_then(|on_hydrate| on_hydrate.dyn_into::<js_sys::Function>().ok());
        if let Some(set_outer_owner) = set_outer_owner {
            let _ = set_outer_owner.call0(&JsValue::NULL);
        }
        let component = island.get_attribute("data-component").unwrap_or_default();
        let hydrating = hydrate_island.call2(&JsValue::NULL, &island, &component.into());
        // An island whose code loads lazily finishes later; islands nested in it must wait for it.
        if let Ok(hydrating) = hydrating.and_then(|value| value.dyn_into::<js_sys::Promise>()) {
            let _ = JsFuture::from(hydrating).await;
        }
    }
}

/// Where the keyboard focus was before the page was shown again, to find the same place on the new page.
enum Focus {
    /// Nothing had the focus, and nothing gets it.
    Nowhere,
    /// The element with this `id`.
    Id(String),
    /// The `index`th control of the form with this [`form_key`].
    Control { form: String, index: usize },
    /// A link to this address.
    Link(String),
    /// Something the new page cannot be searched for: the page's heading takes the focus.
    Elsewhere,
}

impl Focus {
    fn remember(document: &Document, submitted: Option<&HtmlFormElement>) -> Self {
        let Some(focused) = document.active_element().filter(|e| e.local_name() != "body") else {
            return match submitted {
                Some(form) => Self::Control {
                    form: form_key(form),
                    index: 0,
                },
                None => Self::Nowhere,
            };
        };
        if !focused.id().is_empty() {
            return Self::Id(focused.id());
        }
        let form = focused.closest("form").ok().flatten();
        if let Some(form) = form.and_then(|f| f.dyn_into::<HtmlFormElement>().ok()) {
            let index = controls(&form).iter().position(|control| *control == focused);
            return Self::Control {
                form: form_key(&form),
                index: index.unwrap_or(0),
            };
        }
        match focused.get_attribute("href") {
            Some(address) if focused.local_name() == "a" => Self::Link(address),
            _ => Self::Elsewhere,
        }
    }

    /// Focuses the remembered place on the page shown now, or else its heading, without scrolling to it.
    fn restore(self, document: &Document) {
        let found = match self {
            Self::Nowhere => return,
            Self::Id(id) => document.get_element_by_id(&id),
            Self::Control { form, index } => elements(document.query_selector_all("form"))
                .into_iter()
                .filter_map(|f| f.dyn_into::<HtmlFormElement>().ok())
                .find(|f| form_key(f) == form)
                .and_then(|f| controls(&f).into_iter().nth(index)),
            Self::Link(address) => elements(document.query_selector_all("a[href]"))
                .into_iter()
                .find(|a| a.get_attribute("href").as_deref() == Some(address.as_str())),
            Self::Elsewhere => None,
        };
        if found.is_some_and(|element| focus(document, &element)) {
            return;
        }
        // A heading is not focusable by itself; -1 lets a script focus it without adding a stop for Tab.
        let heading = document.query_selector("h1").ok().flatten();
        if let Some(heading) = heading.or_else(|| document.query_selector("main").ok().flatten()) {
            if !heading.has_attribute("tabindex") {
                let _ = heading.set_attribute("tabindex", "-1");
            }
            focus(document, &heading);
        }
    }
}

/// Focuses `element` where it is, without scrolling; `false` when it did not take the focus (hidden, say).
fn focus(document: &Document, element: &Element) -> bool {
    let Some(focusable) = element.dyn_ref::<HtmlElement>() else {
        return false;
    };
    let options = web_sys::FocusOptions::new();
    options.set_prevent_scroll(true);
    let _ = focusable.focus_with_options(&options);
    document.active_element().is_some_and(|active| active == *element)
}

/// What tells a form from the others on the same page: where it posts, and its hidden values (such as the ID of
/// the domain a row's Verify button is for).
fn form_key(form: &HtmlFormElement) -> String {
    let hidden = elements(form.query_selector_all("input[type=hidden]"))
        .into_iter()
        .filter_map(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
        .map(|input| format!("{}={}", input.name(), input.value()));
    std::iter::once(form.get_attribute("action").unwrap_or_default())
        .chain(hidden)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The form's controls a user can reach, in order.
fn controls(form: &HtmlFormElement) -> Vec<Element> {
    elements(form.query_selector_all("input:not([type=hidden]), select, textarea, button"))
}

/// The elements a `querySelectorAll` found, in document order.
fn elements(found: Result<NodeList, JsValue>) -> Vec<Element> {
    let Ok(found) = found else { return Vec::new() };
    (0..found.length())
        .filter_map(|i| found.item(i)?.dyn_into::<Element>().ok())
        .collect()
}
