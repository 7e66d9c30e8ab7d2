//! A read-only value with a button that copies it to the clipboard.

use leptos::prelude::*;

/// `multiline` shows a long value wrapped over several lines instead of scrolled in one.
#[island]
pub fn CopyField(label: String, value: String, id: String, multiline: bool) -> impl IntoView {
    let copied = RwSignal::new(false);
    let to_copy = value.clone();
    let copy = move |_| {
        #[cfg(feature = "hydrate")]
        {
            let _ = window().navigator().clipboard().write_text(&to_copy);
            copied.set(true);
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = &to_copy;
    };
    view! {
        <div class="copy-field">
            <label for=id.clone()>{label}</label>
            <div class="copy-row">
                {if multiline {
                    view! { <textarea id=id readonly rows="2" spellcheck="false">{value}</textarea> }.into_any()
                } else {
                    view! { <input id=id type="text" readonly value=value /> }.into_any()
                }}
                <button type="button" class="button secondary" on:click=copy>
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
            </div>
        </div>
    }
}
