//! Any unknown path: a 404 page.

use crate::components::AuthCard;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found" />
        <AuthCard>
            <h2>"Page not found"</h2>
            <p>"There is nothing at this address. Check the link, or go back to your dashboard."</p>
            <a class="button primary" href="/">"Go to the dashboard"</a>
        </AuthCard>
    }
}
