//! Bounded, seeded fuzzing of what parses untrusted input in the client: the CSV splitter (fed
//! random and mutated CSV in random pieces) and event payload decoding (random and mutated
//! Avro against a change-event and a platform-event schema). Every case must end in a value or
//! a typed error; a panic fails the test. Runs in CI; the seed makes a failure repeatable.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use forcelink::bulk::{CsvSplitter, SplitOptions};
use forcelink::events::{ReceivedEvent, Replay, SubscribeOptions};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const SEED: u64 = 0x5eed_f022;
const CASES: usize = 3_000;

/// Bytes that matter to the CSV grammar, with ordinary ones and a BOM's.
const CSV_ALPHABET: &[u8] = b",;|\t\"\r\n aZ09\xef\xbb\xbf\xff";

fn mutate(rng: &mut StdRng, base: &[u8], alphabet: &[u8]) -> Vec<u8> {
    let mut out = base.to_vec();
    for _ in 0..rng.gen_range(0..8) {
        let at = rng.gen_range(0..=out.len());
        match rng.gen_range(0..4) {
            0 if !out.is_empty() => {
                out.remove(at.min(out.len() - 1));
            }
            1 => out.insert(at, alphabet[rng.gen_range(0..alphabet.len())]),
            2 => out.insert(at, rng.gen()),
            _ => {
                let end = rng.gen_range(at..=out.len());
                let piece = out[at..end].to_vec();
                out.splice(at..at, piece);
            }
        }
    }
    out
}

#[test]
fn the_csv_splitter_never_panics() {
    let mut rng = StdRng::seed_from_u64(SEED);
    let valid = b"Name,Description,City\r\n\"Acme\",\"line one\r\nline \"\"two\"\"\",Paris\r\nB,,\r\n\r\nC,\"\",Oslo";
    for case in 0..CASES {
        let data: Vec<u8> = if case % 3 == 0 {
            (0..rng.gen_range(0..200))
                .map(|_| CSV_ALPHABET[rng.gen_range(0..CSV_ALPHABET.len())])
                .collect()
        } else {
            mutate(&mut rng, valid, CSV_ALPHABET)
        };
        let delimiter = [b',', b';', b'|', b'\t'][rng.gen_range(0..4)];
        let options = SplitOptions {
            delimiter,
            max_records: if rng.gen_bool(0.3) {
                Some(rng.gen_range(1..4))
            } else {
                None
            },
            ..SplitOptions::default()
        };
        let mut splitter = CsvSplitter::new(options).unwrap();
        let mut rest = &data[..];
        let mut failed = false;
        while !rest.is_empty() {
            let take = rng.gen_range(1..=rest.len());
            if splitter.feed(&rest[..take]).is_err() {
                failed = true;
                break;
            }
            rest = &rest[take..];
        }
        if !failed {
            let _ = splitter.finish();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_payload_decoding_never_panics() {
    let org = forcelink_emulator::Emulator::builder()
        .start()
        .await
        .unwrap();
    org.define_event(
        "Order__e",
        &[
            ("Number__c".into(), "text".into()),
            ("Amount__c".into(), "number".into()),
        ],
    )
    .unwrap();
    let client = common::client_for(&org);
    client
        .sobjects()
        .create(
            "Account",
            &serde_json::json!({"Name": "Fuzz", "BillingCity": "Oslo"}),
        )
        .await
        .unwrap();
    client
        .events()
        .publish_batch(
            "Order__e",
            &[serde_json::json!({"Number__c": "O-1", "Amount__c": 2.5})],
        )
        .await
        .unwrap();
    let mut bases = Vec::new();
    for topic in ["/data/AccountChangeEvent", "/event/Order__e"] {
        let mut sub = client
            .events()
            .subscribe(topic, SubscribeOptions::new(Replay::Earliest))
            .await
            .unwrap();
        let batch = sub.next_batch().await.unwrap().unwrap();
        bases.push(batch.into_iter().next().unwrap());
    }
    let mut rng = StdRng::seed_from_u64(SEED);
    for case in 0..CASES {
        let base = &bases[case % bases.len()];
        let payload = if case % 4 < 3 {
            mutate(
                &mut rng,
                &base.payload,
                &[0x00, 0x01, 0x02, 0x7f, 0x80, 0xff],
            )
        } else {
            (0..rng.gen_range(0..64)).map(|_| rng.gen()).collect()
        };
        let event = ReceivedEvent {
            payload,
            ..base.clone()
        };
        let _ = event.decode();
        let _ = event.change_header();
    }
}
