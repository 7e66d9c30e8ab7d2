//! Servers of one process, each on its own runtime and thread, as the tests of this suite run them: one starting
//! (building its router) stalls no page of another.

use crate::support::{Browser, app_state, fresh_database_url, spawn_app};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[tokio::test]
async fn pages_render_while_another_server_of_the_process_builds_its_router() {
    let app = spawn_app().await;
    let stop = Arc::new(AtomicBool::new(false));
    let builder = std::thread::spawn({
        let stop = Arc::clone(&stop);
        move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let dir = tempfile::tempdir().unwrap();
                let database_url = fresh_database_url(dir.path()).await;
                let (state, max_body_bytes) = app_state("http://127.0.0.1:9", &database_url, &[]).await;
                let mut built = 0u32;
                while built == 0 || !stop.load(Ordering::Relaxed) {
                    drop(server::router(state.clone(), max_body_bytes));
                    built += 1;
                    tokio::task::yield_now().await;
                }
                built
            })
        }
    });
    let browser = Browser::new(&app);
    for round in 0..40 {
        let mut pages = tokio::task::JoinSet::new();
        for _ in 0..10 {
            let client = browser.client.clone();
            let url = format!("{}/sign-in", browser.base);
            pages.spawn(async move { client.get(url).send().await.unwrap().status().as_u16() });
        }
        // A page takes milliseconds; one that waits this long waits for a wake-up that never comes.
        let statuses = tokio::time::timeout(Duration::from_secs(10), pages.join_all())
            .await
            .unwrap_or_else(|_| panic!("round {round}: a page request got no answer within 10 s"));
        assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    }
    stop.store(true, Ordering::Relaxed);
    assert!(builder.join().unwrap() > 0);
}
