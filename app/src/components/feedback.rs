//! Error and success messages, next to a field or above a form.

use leptos::prelude::*;

/// Where the error about `field` appears, under that field; filled in by the form's island when the server
/// names the field (see `ApiForm`).
#[component]
pub fn FieldError(field: &'static str) -> impl IntoView {
    view! { <p class="field-error" data-error-for=field role="alert" hidden></p> }
}

/// An error that belongs to no single field, shown above the form.
#[component]
pub fn ErrorBanner(message: RwSignal<Option<String>>) -> impl IntoView {
    view! {
        <Show when=move || message.read().is_some()>
            <div class="banner banner-error" role="alert">{move || message.get()}</div>
        </Show>
    }
}

/// A calm, informational message.
#[component]
pub fn Notice(children: Children) -> impl IntoView {
    view! { <div class="banner banner-info" role="status">{children()}</div> }
}

/// The error of a form sent without WebAssembly. Such a post is answered by sending the browser back to the page
/// with the error in the address (`__path` names the server function, `__err` holds the error), so the page shows
/// it here, at its top. Anyone can write such an address, so it is shown only as that redirect arrives: from this
/// site (`Sec-Fetch-Site: same-origin`) and from the very page the form was on (the `Referer` is this address
/// without the error). A link from elsewhere, or a local path the app was asked to open after signing in, would
/// otherwise put words of its maker's choosing into the product's own error banner.
#[component]
pub fn ReturnedError() -> impl IntoView {
    returned_error().map(|message| {
        view! {
            <div class="returned-error" id="returned-error">
                <div class="banner banner-error" role="alert">{message}</div>
            </div>
        }
    })
}

#[cfg(feature = "ssr")]
fn returned_error() -> Option<String> {
    use crate::error::AppError;
    use server_fn::error::ServerFnUrlError;
    let request = use_context::<http::request::Parts>()?;
    let from_this_site = request
        .headers
        .get("sec-fetch-site")
        .is_some_and(|site| site.as_bytes() == b"same-origin");
    if !from_this_site {
        return None;
    }
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(request.uri.query()?.as_bytes())
        .into_owned()
        .collect();
    let encoded = pairs.iter().find(|(name, _)| name == "__err").map(|(_, value)| value)?;
    let without_error: Vec<&(String, String)> = pairs
        .iter()
        .filter(|(name, _)| name != "__err" && name != "__path")
        .collect();
    let referer = url::Url::parse(request.headers.get(http::header::REFERER)?.to_str().ok()?).ok()?;
    let referer_pairs: Vec<(String, String)> = referer.query_pairs().into_owned().collect();
    let sent_from_here =
        referer.path() == request.uri.path() && referer_pairs.iter().collect::<Vec<_>>() == without_error;
    sent_from_here.then(|| ServerFnUrlError::<AppError>::decode_err(encoded).to_string())
}

/// Islands never render this component in the browser; the server rendered it already.
#[cfg(not(feature = "ssr"))]
fn returned_error() -> Option<String> {
    None
}
