//! A button that adds one more row to a table of indexed form fields, in place, once the WebAssembly runs.
//!
//! The row is a `<template>` rendered by the server with the same markup as the other rows; `__index__` and
//! `__number__` in it become the new row's index and its number as people count. Without WebAssembly the button
//! is not shown and the table's spare empty rows do the same job.

use leptos::prelude::*;

/// Adds a copy of the template `template_id` at the end of the table body `rows_id` and focuses its first field.
#[island]
pub fn AddRow(rows_id: String, template_id: String, label: String) -> impl IntoView {
    let hydrated = RwSignal::new(false);
    Effect::new(move || hydrated.set(true));
    let add = move |_| {
        #[cfg(feature = "hydrate")]
        add_row(&rows_id, &template_id);
        #[cfg(not(feature = "hydrate"))]
        let _ = (&rows_id, &template_id);
    };
    view! {
        <Show when=move || hydrated.get()>
            <button type="button" class="button" on:click=add.clone()>{label.clone()}</button>
        </Show>
    }
}

#[cfg(feature = "hydrate")]
fn add_row(rows_id: &str, template_id: &str) {
    use wasm_bindgen::JsCast;
    let document = document();
    let (Some(rows), Some(template)) = (
        document.get_element_by_id(rows_id),
        document.get_element_by_id(template_id),
    ) else {
        return;
    };
    let index = rows.child_element_count();
    let markup = template
        .inner_html()
        .replace("__index__", &index.to_string())
        .replace("__number__", &(index + 1).to_string());
    if rows.insert_adjacent_html("beforeend", &markup).is_err() {
        return;
    }
    let first_field = rows
        .last_element_child()
        .and_then(|row| row.query_selector("input, select").ok().flatten())
        .and_then(|field| field.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(field) = first_field {
        let _ = field.focus();
    }
}
