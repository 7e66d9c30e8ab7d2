//! Drives one operation closed-loop (a fixed number of virtual users, each starting again as soon as it is
//! answered) or open-loop (a fixed arrival rate, whatever the answers do), and records what happened.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// What one successful operation measured besides its total: the time of each of its steps, and for a sign-in
/// whether it was the user's first (provisioned just in time).
#[derive(Clone, Debug, Default)]
pub struct Sample {
    pub steps: Vec<Duration>,
    pub first_sign_in: Option<bool>,
    /// Bytes of the answer's body (pages).
    pub bytes: u64,
}

/// The latencies (in microseconds) and errors of one phase.
#[derive(Default)]
pub struct Recorded {
    pub total: Vec<u64>,
    pub steps: Vec<Vec<u64>>,
    pub first: Vec<u64>,
    pub returning: Vec<u64>,
    pub errors: u64,
    pub messages: BTreeMap<String, u64>,
    pub bytes: u64,
    /// From the first scheduled start to the last answer.
    pub elapsed: Duration,
}

impl Recorded {
    fn add(&mut self, total: Duration, result: Result<Sample, String>) {
        match result {
            Ok(sample) => {
                let micros = total.as_micros() as u64;
                self.total.push(micros);
                self.bytes += sample.bytes;
                if self.steps.len() < sample.steps.len() {
                    self.steps.resize(sample.steps.len(), Vec::new());
                }
                for (i, step) in sample.steps.iter().enumerate() {
                    self.steps[i].push(step.as_micros() as u64);
                }
                match sample.first_sign_in {
                    Some(true) => self.first.push(micros),
                    Some(false) => self.returning.push(micros),
                    None => {}
                }
            }
            Err(message) => self.error(message),
        }
    }

    fn error(&mut self, message: String) {
        self.errors += 1;
        let message: String = message.chars().take(200).collect();
        *self.messages.entry(message).or_default() += 1;
    }

    pub fn ok(&self) -> u64 {
        self.total.len() as u64
    }

    /// Successful operations per second.
    pub fn rate(&self) -> f64 {
        self.ok() as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// The `p`-quantile (0..=1) of `values`, in milliseconds; sorts them.
pub fn quantile(values: &mut [u64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_unstable();
    let rank = ((p * values.len() as f64).ceil() as usize).clamp(1, values.len());
    values[rank - 1] as f64 / 1000.0
}

/// `users` virtual users run `operation` back to back for `duration`; each operation is timed from its own start.
pub async fn closed_loop<F, Fut>(users: usize, duration: Duration, operation: F) -> Recorded
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Sample, String>> + Send + 'static,
{
    let operation = Arc::new(operation);
    let recorded = Arc::new(Mutex::new(Recorded::default()));
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = JoinSet::new();
    for _ in 0..users {
        let operation = operation.clone();
        let recorded = recorded.clone();
        let counter = counter.clone();
        tasks.spawn(async move {
            while Instant::now() < deadline {
                let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let began = Instant::now();
                let result = operation(n).await;
                let took = began.elapsed();
                recorded.lock().unwrap().add(took, result);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let mut recorded = Arc::try_unwrap(recorded)
        .ok()
        .expect("every virtual user has finished")
        .into_inner()
        .unwrap();
    recorded.elapsed = start.elapsed();
    recorded
}

/// Starts `operation` at `rate` per second for `duration`, each at its scheduled moment however many are still
/// running (up to `max_in_flight`, beyond which an arrival counts as an error), and times each from its
/// scheduled start: a slow answer cannot hide the arrivals that queued behind it.
pub async fn open_loop<F, Fut>(rate: f64, duration: Duration, max_in_flight: usize, operation: F) -> Recorded
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Result<Sample, String>> + Send + 'static,
{
    let mut recorded = Recorded::default();
    let total = (rate * duration.as_secs_f64()).round() as u64;
    let start = Instant::now() + Duration::from_millis(5);
    let mut tasks: JoinSet<(Duration, Result<Sample, String>)> = JoinSet::new();
    for n in 0..total {
        let scheduled = start + Duration::from_secs_f64(n as f64 / rate);
        tokio::time::sleep_until(scheduled.into()).await;
        while let Some(done) = tasks.try_join_next() {
            let (took, result) = done
                .map_err(|e| e.to_string())
                .unwrap_or_else(|e| (Duration::ZERO, Err(e)));
            recorded.add(took, result);
        }
        if tasks.len() >= max_in_flight {
            recorded.error(format!(
                "more than {max_in_flight} operations in flight: the server is not keeping up"
            ));
            continue;
        }
        let future = operation(n);
        tasks.spawn(async move {
            let result = future.await;
            (scheduled.elapsed(), result)
        });
    }
    while let Some(done) = tasks.join_next().await {
        let (took, result) = done
            .map_err(|e| e.to_string())
            .unwrap_or_else(|e| (Duration::ZERO, Err(e)));
        recorded.add(took, result);
    }
    recorded.elapsed = start.elapsed();
    recorded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank() {
        let mut values: Vec<u64> = (1..=100).map(|v| v * 1000).collect();
        assert_eq!(quantile(&mut values, 0.5), 50.0);
        assert_eq!(quantile(&mut values, 0.99), 99.0);
        assert_eq!(quantile(&mut values, 1.0), 100.0);
        assert_eq!(quantile(&mut [7000], 0.99), 7.0);
        assert!(quantile(&mut [], 0.5).is_nan());
    }

    #[tokio::test]
    async fn open_loop_keeps_its_schedule_and_counts_from_it() {
        let recorded = open_loop(200.0, Duration::from_millis(250), 100, |_| async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(Sample::default())
        })
        .await;
        assert_eq!(recorded.ok(), 50);
        assert_eq!(recorded.errors, 0);
        let mut total = recorded.total.clone();
        assert!(quantile(&mut total, 0.5) >= 20.0);
    }

    #[tokio::test]
    async fn closed_loop_counts_errors() {
        let recorded = closed_loop(2, Duration::from_millis(50), |n| async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            if n % 2 == 0 {
                Ok(Sample::default())
            } else {
                Err("odd".into())
            }
        })
        .await;
        assert!(recorded.ok() > 0 && recorded.errors > 0);
        assert_eq!(recorded.messages.keys().collect::<Vec<_>>(), ["odd"]);
    }
}
