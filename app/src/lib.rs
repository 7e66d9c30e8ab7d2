//! Gatehouse's dashboard: routes, pages and server functions, rendered on the server and hydrated in the browser.
#![recursion_limit = "256"]

pub mod api;
mod components;
#[cfg(feature = "ssr")]
pub mod edge_pages;
pub mod error;
mod pages;
#[cfg(feature = "ssr")]
pub mod refusal_reasons;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

/// The HTML document around the app, rendered on the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light" />
                <link rel="icon" type="image/svg+xml" href="/favicon.svg" />
                <AutoReload options=options.clone() />
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/gatehouse.css" />
        <Title formatter=|page: String| if page.is_empty() { "Gatehouse".to_owned() } else { format!("{page} · Gatehouse") } />
        <components::ReturnedError />
        <Router>
            <Routes fallback=pages::not_found::NotFound>
                // Async rendering waits for each page's data, so redirects and status codes can still be set.
                <Route path=path!("/") view=pages::home::Home ssr=SsrMode::Async />
                <Route path=path!("/sign-in") view=pages::sign_in::SignInPage ssr=SsrMode::Async />
                <Route path=path!("/sign-up") view=pages::sign_up::SignUpPage ssr=SsrMode::Async />
                <Route path=path!("/confirm-email") view=pages::confirm_email::ConfirmEmailPage ssr=SsrMode::Async />
                <Route path=path!("/confirm-email/:token") view=pages::confirm_email::ProveEmailPage ssr=SsrMode::Async />
                <Route path=path!("/invitations/:token") view=pages::invitation::Invitation ssr=SsrMode::Async />
                <Route path=path!("/accounts/:account_id") view=pages::account::Overview ssr=SsrMode::Async />
                <Route path=path!("/accounts/:account_id/members") view=pages::members::Members ssr=SsrMode::Async />
                <Route path=path!("/accounts/:account_id/sso") view=pages::sso::Overview ssr=SsrMode::Async />
                <Route path=path!("/accounts/:account_id/sso/domains") view=pages::sso::domains::Domains ssr=SsrMode::Async />
                <Route path=path!("/accounts/:account_id/sso/connections") view=pages::sso::connections::Connections ssr=SsrMode::Async />
                <Route
                    path=path!("/accounts/:account_id/sso/connections/:connection_id")
                    view=pages::sso::connections::Connection
                    ssr=SsrMode::Async
                />
                <Route path=path!("/accounts/:account_id/sso/events") view=pages::sso::events::Events ssr=SsrMode::Async />
                <Route path=path!("/accounts/:account_id/sso/audit") view=pages::sso::audit::Audit ssr=SsrMode::Async />
                <Route path=path!("/accounts/:account_id/sso/setup") view=pages::sso::setup::SsoSetup ssr=SsrMode::Async />
                <Route path=path!("/accounts/:account_id/settings") view=pages::settings::Settings ssr=SsrMode::Async />
                <Route path=path!("/setup") view=pages::setup::SetupWork ssr=SsrMode::Async />
                <Route path=path!("/setup/:token") view=pages::setup::SetupLinkLanding ssr=SsrMode::Async />
            </Routes>
        </Router>
    }
}

/// Hydrates the islands (forms, copy buttons) on the page; everything else stays server-rendered HTML.
#[cfg(feature = "hydrate")]
pub fn hydrate_islands() {
    leptos::mount::hydrate_islands();
    // A marker that browser tests (and anyone debugging) can wait for: the islands' handlers are attached now.
    if let Some(body) = document().body() {
        let _ = body.set_attribute("data-hydrated", "");
    }
}
