//! Forms that post to a server function from the browser: one island for every form, so a new form adds
//! markup rather than WebAssembly.
//!
//! The form is plain HTML posting to the server function's URL, so it also works before (or without) the
//! WebAssembly. Once hydrated, a submit is sent with `fetch`; while it runs the form is `aria-busy` and its
//! submit buttons are disabled (showing their `data-pending-text`, if any). A file input marked
//! `data-fills="field"` sends the chosen file's content as that field (text, or Base64 for a binary file such as a
//! DER certificate), so uploads travel in the same form encoding as typed values. A failure is shown next to the field
//! it is about (the element with `data-error-for`, see [`FieldError`](super::FieldError)) or above the form. When the
//! server asks to choose ([`AppError::Choose`]), the choices appear in the form as a list to filter, each with its
//! own submit button carrying the value, so choosing sends the same form again with it.
//! One generic island instead of one `ActionForm` per server function keeps the release WebAssembly small: each
//! typed action compiled in its own encoder, decoder and reactive state.

use crate::components::ErrorBanner;
use crate::error::{AppError, Choice};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What a form does once its server function succeeded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AfterSuccess {
    /// Show the same page again, rendered with the change.
    Reload,
    /// Open the path the server function answered (sign-in, sign-up, accepting an invitation).
    OpenAnsweredPath,
    /// Open this path.
    Open(String),
}

/// A form posting to the server function at `action` (its `ServerFn::PATH`).
#[island]
pub fn ApiForm(action: String, then: AfterSuccess, class: String, children: Children) -> impl IntoView {
    let form = NodeRef::<leptos::html::Form>::new();
    let error = RwSignal::new(None::<String>);
    let asked = RwSignal::new(None::<AppError>);
    let target = action.clone();
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let then = then.clone();
        let feedback = Feedback {
            error,
            asked: Some(asked),
        };
        submit(form, &target, submitted_by(&event), feedback, move |answer| {
            follow(&then, &answer, form)
        });
    };
    view! {
        <ErrorBanner message=error />
        <form action=action method="post" class=class node_ref=form on:submit=on_submit>
            {children()}
            {move || match asked.get() {
                Some(AppError::Choose { field, message, choices }) => {
                    Some(view! { <ChoiceList field message choices /> })
                }
                _ => None,
            }}
        </form>
    }
}

/// Where a failed submit is shown: `error` above the form (or at its field), and, when given, `asked` keeps a
/// request to choose.
pub(crate) struct Feedback {
    error: RwSignal<Option<String>>,
    asked: Option<RwSignal<Option<AppError>>>,
}

impl From<RwSignal<Option<String>>> for Feedback {
    fn from(error: RwSignal<Option<String>>) -> Self {
        Self { error, asked: None }
    }
}

/// The name and value of the submit button that sent the form, which a browser adds to what it sends.
fn submitted_by(event: &leptos::ev::SubmitEvent) -> Option<(String, String)> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let button = event.submitter()?.dyn_into::<web_sys::HtmlButtonElement>().ok()?;
        Some((button.name(), button.value())).filter(|(name, _)| !name.is_empty())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = event;
        None
    }
}

/// Posts `form` (and `submitter`'s name and value) to `action`; on success hands the JSON answer to `on_success`,
/// otherwise shows the error.
pub(crate) fn submit(
    form: NodeRef<leptos::html::Form>,
    action: &str,
    submitter: Option<(String, String)>,
    feedback: Feedback,
    on_success: impl FnOnce(String) + 'static,
) {
    let Feedback { error, asked } = feedback;
    #[cfg(feature = "hydrate")]
    {
        let Some(element) = form.get_untracked() else { return };
        let action = action.to_owned();
        error.set(None);
        dom::clear_field_errors(&element);
        dom::set_pending(&element, true);
        leptos::task::spawn_local(async move {
            match dom::post(&element, &action, submitter).await {
                Ok(answer) => {
                    dom::set_pending(&element, false);
                    on_success(answer);
                }
                Err(e) => {
                    dom::set_pending(&element, false);
                    if let Some(asked) = asked {
                        // A new answer replaces the list: another file, or one that no longer asks.
                        let choose = matches!(e, AppError::Choose { .. });
                        asked.set(choose.then(|| e.clone()));
                        if choose {
                            return;
                        }
                    }
                    let shown_at_field = e
                        .invalid_field()
                        .is_some_and(|(field, message)| dom::show_field_error(&element, field, message));
                    if !shown_at_field {
                        error.set(Some(e.to_string()));
                    }
                }
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (form, action, submitter, error, asked, on_success);
}

/// The values the server offered, each with a submit button named `field`; a search box narrows the list as
/// one types (a federation file can list thousands).
#[component]
fn ChoiceList(field: String, message: String, choices: Vec<Choice>) -> impl IntoView {
    let query = RwSignal::new(String::new());
    // The list appears after a submit; the cursor goes to its search box so keyboard and screen reader users
    // land on it (the box's fieldset names the question).
    let search = NodeRef::<leptos::html::Input>::new();
    Effect::new(move || {
        if let Some(input) = search.get() {
            let _ = input.focus();
        }
    });
    let matches = move |text: &str| {
        let query = query.read();
        let query = query.trim().to_lowercase();
        query.is_empty() || text.contains(&query)
    };
    let searchable: Vec<String> = choices
        .iter()
        .map(|c| {
            let facts = c.facts.iter().map(|(_, text)| text.as_str()).collect::<Vec<_>>();
            format!("{} {}", c.name, facts.join(" ")).to_lowercase()
        })
        .collect();
    let all = searchable.clone();
    let none_match = move || !all.iter().any(|text| matches(text));
    let rows = choices
        .into_iter()
        .zip(searchable)
        .map(|(choice, text)| {
            let facts = choice
                .facts
                .into_iter()
                .map(|(label, value)| view! { <dt>{label}</dt><dd>{value}</dd> })
                .collect_view();
            view! {
                <li class="choice-row" hidden=move || !matches(&text)>
                    <div>
                        <strong>{choice.name.clone()}</strong>
                        <dl class="facts">{facts}</dl>
                    </div>
                    <button type="submit" class="button" name=field.clone() value=choice.value aria-label=format!("Choose {}", choice.name)>
                        "Choose"
                    </button>
                </li>
            }
        })
        .collect_view();
    view! {
        <fieldset class="choices">
            <legend>{message}</legend>
            <label class="choices-search">
                "Search the list"
                <input type="search" autocomplete="off" node_ref=search on:input=move |event| query.set(event_target_value(&event)) />
            </label>
            <ul>{rows}</ul>
            <p class="muted" hidden=move || !none_match()>"Nothing in the list matches."</p>
        </fieldset>
    }
}

fn follow(then: &AfterSuccess, answer: &str, form: NodeRef<leptos::html::Form>) {
    match then {
        AfterSuccess::Reload => show_page_again(form),
        AfterSuccess::Open(path) => load_page(path),
        AfterSuccess::OpenAnsweredPath => match serde_json::from_str::<String>(answer) {
            Ok(path) => load_page(&path),
            Err(_) => show_page_again(form),
        },
    }
}

/// Loads `path` as a whole new page, so everything on it reflects the change just made.
fn load_page(path: &str) {
    #[cfg(feature = "hydrate")]
    {
        let _ = window().location().set_href(path);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}

/// Shows the current page again as the server renders it after the action changed what it shows: in place, with
/// the focus back in `form` if nothing else has it (see `refresh.rs`).
fn show_page_again(form: NodeRef<leptos::html::Form>) {
    #[cfg(feature = "hydrate")]
    super::refresh::refresh_page(form.get_untracked());
    #[cfg(not(feature = "hydrate"))]
    let _ = form;
}

#[cfg(feature = "hydrate")]
mod dom {
    use crate::error::AppError;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{Element, HtmlFormElement};

    /// Sends the form's fields (and the submit button's value) form-encoded, as the browser itself would, and asks
    /// for JSON back.
    pub async fn post(
        form: &HtmlFormElement,
        action: &str,
        submitter: Option<(String, String)>,
    ) -> Result<String, AppError> {
        let failed = |e: JsValue| AppError::Request(e.as_string().unwrap_or_else(|| "network error".into()));
        let data = web_sys::FormData::new_with_form(form).map_err(failed)?;
        if let Some((name, value)) = submitter {
            data.set_with_str(&name, &value).map_err(failed)?;
        }
        fill_from_files(form, &data).await?;
        let body = web_sys::UrlSearchParams::new_with_str_sequence_sequence(&data).map_err(failed)?;
        let headers = web_sys::Headers::new().map_err(failed)?;
        headers.set("Accept", "application/json").map_err(failed)?;
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_headers(&headers);
        init.set_body(&body);
        let response: web_sys::Response =
            JsFuture::from(leptos::prelude::window().fetch_with_str_and_init(action, &init))
                .await
                .map_err(failed)?
                .dyn_into()
                .map_err(failed)?;
        let text = JsFuture::from(response.text().map_err(failed)?)
            .await
            .map_err(failed)?
            .as_string()
            .unwrap_or_default();
        if response.ok() {
            Ok(text)
        } else {
            Err(serde_json::from_str(&text)
                .unwrap_or_else(|_| AppError::Request(format!("the server answered {}", response.status()))))
        }
    }

    /// Puts the content of each chosen `data-fills` file into the field it names.
    async fn fill_from_files(form: &HtmlFormElement, data: &web_sys::FormData) -> Result<(), AppError> {
        let mut chosen = Vec::new();
        each(form, "input[type=file][data-fills]", |element| {
            let field = element.get_attribute("data-fills").unwrap_or_default();
            let file = element
                .dyn_into::<web_sys::HtmlInputElement>()
                .ok()
                .and_then(|input| input.files())
                .and_then(|files| files.get(0));
            if let Some(file) = file {
                chosen.push((field, file));
            }
        });
        for (field, file) in chosen {
            let buffer = JsFuture::from(file.array_buffer())
                .await
                .map_err(|_| AppError::Request(format!("cannot read the file {}", file.name())))?;
            let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
            let content = match String::from_utf8(bytes) {
                Ok(text) => text,
                Err(binary) => {
                    use base64::Engine;
                    base64::engine::general_purpose::STANDARD.encode(binary.as_bytes())
                }
            };
            data.set_with_str(&field, &content)
                .map_err(|_| AppError::Request("cannot attach the file".into()))?;
        }
        Ok(())
    }

    fn each(form: &HtmlFormElement, selector: &str, mut apply: impl FnMut(Element)) {
        if let Ok(found) = form.query_selector_all(selector) {
            for i in 0..found.length() {
                if let Some(element) = found.item(i).and_then(|n| n.dyn_into::<Element>().ok()) {
                    apply(element);
                }
            }
        }
    }

    pub fn set_pending(form: &HtmlFormElement, pending: bool) {
        let _ = form.set_attribute("aria-busy", if pending { "true" } else { "false" });
        each(form, "button[type=submit]", |button| {
            if pending {
                let _ = button.set_attribute("disabled", "");
            } else {
                let _ = button.remove_attribute("disabled");
            }
            if let Some(busy_text) = button.get_attribute("data-pending-text") {
                if pending {
                    let _ = button.set_attribute("data-idle-text", &button.text_content().unwrap_or_default());
                    button.set_text_content(Some(&busy_text));
                } else if let Some(idle) = button.get_attribute("data-idle-text") {
                    button.set_text_content(Some(&idle));
                }
            }
        });
    }

    pub fn clear_field_errors(form: &HtmlFormElement) {
        each(form, "[data-error-for]", |slot| {
            slot.set_text_content(None);
            let _ = slot.set_attribute("hidden", "");
        });
        each(form, "[aria-invalid]", |input| {
            let _ = input.remove_attribute("aria-invalid");
        });
    }

    /// Puts `message` in the field's error slot; `false` when the form has no slot for that field.
    pub fn show_field_error(form: &HtmlFormElement, field: &str, message: &str) -> bool {
        let Ok(Some(slot)) = form.query_selector(&format!("[data-error-for=\"{field}\"]")) else {
            return false;
        };
        slot.set_text_content(Some(message));
        let _ = slot.remove_attribute("hidden");
        if let Ok(Some(input)) = form.query_selector(&format!("[name=\"{field}\"]")) {
            let _ = input.set_attribute("aria-invalid", "true");
        }
        true
    }
}
