//! Error and success messages, next to a field or above a form.

use crate::error::AppError;
use leptos::prelude::*;

/// The message for `field` from the latest result of an action, shown under that field.
#[component]
pub fn FieldError<T: Send + Sync + Clone + 'static>(
    result: Signal<Option<Result<T, AppError>>>,
    field: &'static str,
) -> impl IntoView {
    let message = move || result.get().and_then(|r| r.err()).and_then(|e| e.for_field(field));
    view! {
        <Show when=move || message().is_some()>
            <p class="field-error" id=format!("{field}-error") role="alert">{message}</p>
        </Show>
    }
}

/// An error that belongs to no single field, shown above the form.
#[component]
pub fn ErrorBanner<T: Send + Sync + Clone + 'static>(
    result: Signal<Option<Result<T, AppError>>>,
    /// Fields that show their own errors; errors about them are not repeated here.
    #[prop(default = &[])]
    fields: &'static [&'static str],
) -> impl IntoView {
    let message = move || {
        result
            .get()
            .and_then(|r| r.err())
            .filter(|e| !fields.iter().any(|f| e.for_field(f).is_some()))
            .map(|e| e.to_string())
    };
    view! {
        <Show when=move || message().is_some()>
            <div class="banner banner-error" role="alert">{message}</div>
        </Show>
    }
}

/// A calm, informational message.
#[component]
pub fn Notice(children: Children) -> impl IntoView {
    view! { <div class="banner banner-info" role="status">{children()}</div> }
}
