//! Keeps a page listing domains that wait for their DNS record in step with the background checks: once the
//! WebAssembly runs, it asks the server every few seconds and shows the page again when one of them changed status.
//! Without WebAssembly the page says nothing of it, and Verify or a reload shows the same.

use leptos::prelude::*;

/// How often the page asks; the background check itself runs with growing gaps from a minute on.
#[cfg(feature = "hydrate")]
const EVERY: std::time::Duration = std::time::Duration::from_secs(15);

/// Watches the domains `waiting` (ids, each with the status shown) of `account_id`.
#[island]
pub fn DomainWatch(account_id: String, waiting: Vec<(String, String)>) -> impl IntoView {
    let hydrated = RwSignal::new(false);
    Effect::new(move || hydrated.set(true));
    let hint = NodeRef::<leptos::html::P>::new();
    #[cfg(feature = "hydrate")]
    {
        // Once the page is shown again in place, this watcher's hint has left it, and the statuses it compares are
        // old: it stops, and the page shown now has a watcher of its own if it still needs one. Asking on would show
        // the page again and again.
        let on_page = move || hint.get_untracked().is_some_and(|hint| hint.is_connected());
        let interval = StoredValue::new(None::<IntervalHandle>);
        let ask = move || {
            if !on_page() {
                if let Some(interval) = interval.get_value() {
                    interval.clear();
                }
                return;
            }
            let (account_id, waiting) = (account_id.clone(), waiting.clone());
            leptos::task::spawn_local(async move {
                let Ok(page) = crate::api::domains::list_domains(account_id).await else {
                    return;
                };
                let changed = waiting.iter().any(|(id, status)| {
                    page.domains
                        .iter()
                        .find(|d| &d.id == id)
                        .is_none_or(|d| &d.status != status)
                });
                if changed && on_page() {
                    super::refresh::refresh_page(None);
                }
            });
        };
        interval.set_value(set_interval_with_handle(ask, EVERY).ok());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (account_id, waiting);
    view! {
        <Show when=move || hydrated.get()>
            <p class="hint" role="status" node_ref=hint>"This page shows the result by itself when an automatic check finishes."</p>
        </Show>
    }
}
