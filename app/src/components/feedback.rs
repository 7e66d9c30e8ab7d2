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
/// it here, at its top. Only a page reached from this site shows it (`Sec-Fetch-Site: same-origin`): a link from
/// elsewhere could otherwise put any words of its choosing into the product's own error banner.
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
    let encoded = url::form_urlencoded::parse(request.uri.query()?.as_bytes())
        .find(|(name, _)| name == "__err")
        .map(|(_, value)| value.into_owned())?;
    Some(ServerFnUrlError::<AppError>::decode_err(&encoded).to_string())
}

/// Islands never render this component in the browser; the server rendered it already.
#[cfg(not(feature = "ssr"))]
fn returned_error() -> Option<String> {
    None
}
