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
