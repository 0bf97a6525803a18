//! Request counts and latency histograms keyed by method, route pattern and status. The route is the
//! pattern that matched (`/api/v1/members/{member_id}`), never the raw path, so the number of series is
//! bounded by the route table; a request no route matched counts under `unmatched`.

use std::{
    collections::HashMap,
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use actix_web::http::Method;

use super::exposition::{Exposition, Labels};

/// Upper bounds of the latency buckets, in seconds (the last bucket, `+Inf`, is implied).
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct SeriesKey {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Default)]
struct Series {
    /// Non-cumulative counts per bucket; the exposition accumulates them.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

#[derive(Default)]
pub struct RequestMetrics {
    series: RwLock<HashMap<SeriesKey, Arc<Series>>>,
}

impl RequestMetrics {
    /// Counts one answered request. `route` is the matched pattern, `None` when no route matched.
    pub fn observe(&self, method: &Method, route: Option<String>, status: u16, took: Duration) {
        let key = SeriesKey {
            method: method_label(method),
            route: route.unwrap_or_else(|| "unmatched".to_owned()),
            status,
        };
        let series = self.series_for(key);
        let seconds = took.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(BUCKETS.len());
        series.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        series.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    fn series_for(&self, key: SeriesKey) -> Arc<Series> {
        // A poisoned lock only means another thread panicked mid-insert; the map itself is intact.
        if let Some(series) = self
            .series
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&key)
        {
            return series.clone();
        }
        self.series
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .entry(key)
            .or_default()
            .clone()
    }

    /// Writes `trellis_http_request_duration_seconds` (a histogram whose `_count` is the request count).
    pub fn write(&self, out: &mut Exposition) {
        let mut series: Vec<(SeriesKey, Arc<Series>)> = self
            .series
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .iter()
            .map(|(key, series)| (key.clone(), series.clone()))
            .collect();
        series.sort_by(|a, b| a.0.cmp(&b.0));
        out.header(
            "trellis_http_request_duration_seconds",
            "histogram",
            "Time from a request's arrival to its response's head, by method, route pattern and status.",
        );
        for (key, series) in series {
            let status = key.status.to_string();
            let labels = Labels::new()
                .with("method", key.method)
                .with("route", &key.route)
                .with("status", &status);
            let mut cumulative = 0u64;
            for (i, count) in series.buckets.iter().enumerate() {
                cumulative += count.load(Ordering::Relaxed);
                let le = BUCKETS
                    .get(i)
                    .map(|bound| bound.to_string())
                    .unwrap_or_else(|| "+Inf".to_owned());
                out.sample(
                    "trellis_http_request_duration_seconds_bucket",
                    &labels.clone().with("le", &le),
                    cumulative as f64,
                );
            }
            let sum = series.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            out.sample("trellis_http_request_duration_seconds_sum", &labels, sum);
            out.sample(
                "trellis_http_request_duration_seconds_count",
                &labels,
                cumulative as f64,
            );
        }
    }
}

/// The standard methods by name; anything else is `other` (a client cannot mint series).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(metrics: &RequestMetrics) -> String {
        let mut out = Exposition::default();
        metrics.write(&mut out);
        out.finish()
    }

    #[test]
    fn buckets_are_cumulative_and_count_every_request() {
        let metrics = RequestMetrics::default();
        let route = || Some("/api/v1/members".to_owned());
        metrics.observe(&Method::GET, route(), 200, Duration::from_micros(800));
        metrics.observe(&Method::GET, route(), 200, Duration::from_millis(30));
        metrics.observe(&Method::GET, route(), 200, Duration::from_secs(20));
        let text = render(&metrics);
        let series = r#"method="GET",route="/api/v1/members",status="200""#;
        let expected = [
            format!("_bucket{{{series},le=\"0.001\"}} 1"),
            format!("_bucket{{{series},le=\"0.025\"}} 1"),
            format!("_bucket{{{series},le=\"0.05\"}} 2"),
            format!("_bucket{{{series},le=\"10\"}} 2"),
            format!("_bucket{{{series},le=\"+Inf\"}} 3"),
            format!("_count{{{series}}} 3"),
            format!("_sum{{{series}}} 20.0308"),
        ];
        for line in expected {
            assert!(text.contains(&format!("{line}\n")), "{line} in {text}");
        }
    }

    #[test]
    fn unmatched_paths_and_odd_methods_share_one_series() {
        let metrics = RequestMetrics::default();
        let odd = Method::from_bytes(b"BREW").unwrap();
        metrics.observe(&odd, None, 404, Duration::from_millis(1));
        metrics.observe(&Method::GET, None, 404, Duration::from_millis(1));
        let text = render(&metrics);
        assert!(text.contains(r#"_count{method="other",route="unmatched",status="404"} 1"#));
        assert!(text.contains(r#"_count{method="GET",route="unmatched",status="404"} 1"#));
    }
}
