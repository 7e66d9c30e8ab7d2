//! Values to copy: a read-only field with its copy button, and the button alone for a value shown inline.

use leptos::prelude::*;

/// A labelled read-only value with a button that copies it. `multiline` shows a long value wrapped over several
/// lines instead of scrolled in one.
#[component]
pub fn CopyField(label: String, value: String, id: String, multiline: bool) -> impl IntoView {
    view! {
        <div class="copy-field">
            <label for=id.clone()>{label}</label>
            <div class="copy-row">
                {if multiline {
                    view! { <textarea id=id readonly rows="2" spellcheck="false">{value.clone()}</textarea> }.into_any()
                } else {
                    view! { <input id=id type="text" readonly value=value.clone() /> }.into_any()
                }}
                <CopyButton value what=String::new() />
            </div>
        </div>
    }
}

/// Copies `value` to the clipboard; `what` names the value for screen readers where no label says it.
#[island]
pub fn CopyButton(value: String, what: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let _ = window().navigator().clipboard().write_text(&value);
            copied.set(true);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &value;
    };
    view! {
        <button type="button" class="button secondary" on:click=copy>
            {move || if copied.get() { "Copied" } else { "Copy" }}
            {(!what.is_empty()).then(|| view! { <span class="visually-hidden">{format!(" {what}")}</span> })}
        </button>
    }
}
