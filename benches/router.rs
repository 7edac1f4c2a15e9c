//! The router's speed on one core: messages per second over the
//! labelled data set, and the latency of single calls (p50/p99).
//!
//!     cargo bench --bench router
//!
//! Baseline, in the same run: `fold` alone (Unicode to ASCII, lower case),
//! the least any router has to do with a message, so the router's figure
//! reads as a ratio to it.

use std::hint::black_box;
use std::time::Instant;

use doorman::conversation::model::fold;
use doorman::conversation::router::classify;

fn main() {
    let data = std::fs::read_to_string("data/intents.tsv").expect("data/intents.tsv");
    let texts: Vec<&str> = data.lines().skip(1).filter_map(|l| l.splitn(4, '\t').nth(3)).collect();
    // Warm up.
    for text in &texts {
        black_box(classify(text));
    }
    let rounds = 200;
    let started = Instant::now();
    for _ in 0..rounds {
        for text in &texts {
            black_box(classify(black_box(text)));
        }
    }
    let elapsed = started.elapsed();
    let total = rounds * texts.len();
    let router_rate = total as f64 / elapsed.as_secs_f64();
    println!("router: {total} messages in {:.2} s = {router_rate:.0} msgs/s on one core", elapsed.as_secs_f64());

    let started = Instant::now();
    for _ in 0..rounds {
        for text in &texts {
            black_box(fold(black_box(text)));
        }
    }
    let fold_rate = total as f64 / started.elapsed().as_secs_f64();
    println!(
        "baseline, fold alone: {fold_rate:.0} msgs/s on one core; the router runs at {:.0} % of it",
        100.0 * router_rate / fold_rate
    );

    let mut latencies: Vec<f64> = Vec::with_capacity(texts.len() * 20);
    for _ in 0..20 {
        for text in &texts {
            let start = Instant::now();
            black_box(classify(black_box(text)));
            latencies.push(start.elapsed().as_secs_f64() * 1e6);
        }
    }
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!("router latency per message: p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs", at(0.5), at(0.99), at(1.0));
}
