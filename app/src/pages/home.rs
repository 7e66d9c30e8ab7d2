//! `/`: sends a signed-in user to their account and everyone else to sign-in.

use crate::api::auth::current_session;
use leptos::prelude::*;
use leptos_router::components::Redirect;

#[component]
pub fn Home() -> impl IntoView {
    let session = Resource::new_blocking(|| (), |_| current_session());
    view! {
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let target = match session.await {
                    Ok(Some(info)) => info.home(),
                    _ => "/sign-in".to_owned(),
                };
                view! { <Redirect path=target /> }
            })}
        </Suspense>
    }
}
