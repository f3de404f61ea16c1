//! Our protos/pubsub_api.proto must be the Pub/Sub contract: every message, field, number, type,
//! enum value and RPC. Compared field by field with the reference copy when ../shared is present.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use prost_reflect::DescriptorPool;
use std::path::{Path, PathBuf};

fn compile(dir: &Path) -> DescriptorPool {
    let fds = protox::compile([dir.join("pubsub_api.proto")], [dir]).unwrap();
    DescriptorPool::from_file_descriptor_set(fds).unwrap()
}

/// Everything a peer's generated code depends on, as comparable lines.
fn contract(pool: &DescriptorPool) -> Vec<String> {
    let mut lines = Vec::new();
    for m in pool.all_messages() {
        for f in m.fields() {
            lines.push(format!(
                "message {} field {} = {} {:?} {:?} list={}",
                m.full_name(),
                f.name(),
                f.number(),
                f.kind(),
                f.cardinality(),
                f.is_list()
            ));
        }
    }
    for e in pool.all_enums() {
        for v in e.values() {
            lines.push(format!(
                "enum {} {} = {}",
                e.full_name(),
                v.name(),
                v.number()
            ));
        }
    }
    for s in pool.services() {
        for m in s.methods() {
            lines.push(format!(
                "rpc {} {}({}{}) -> {}{}",
                s.full_name(),
                m.name(),
                if m.is_client_streaming() {
                    "stream "
                } else {
                    ""
                },
                m.input().full_name(),
                if m.is_server_streaming() {
                    "stream "
                } else {
                    ""
                },
                m.output().full_name()
            ));
        }
    }
    for f in pool.files() {
        lines.push(format!("package {}", f.package_name()));
    }
    lines.sort();
    lines
}

fn ours() -> DescriptorPool {
    compile(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../protos"))
}

#[test]
fn every_rpc_of_the_service_is_declared_with_its_streaming_shape() {
    let lines = contract(&ours());
    for rpc in [
        "rpc eventbus.v1.PubSub Subscribe(stream eventbus.v1.FetchRequest) -> stream eventbus.v1.FetchResponse",
        "rpc eventbus.v1.PubSub GetSchema(eventbus.v1.SchemaRequest) -> eventbus.v1.SchemaInfo",
        "rpc eventbus.v1.PubSub GetTopic(eventbus.v1.TopicRequest) -> eventbus.v1.TopicInfo",
        "rpc eventbus.v1.PubSub Publish(eventbus.v1.PublishRequest) -> eventbus.v1.PublishResponse",
        "rpc eventbus.v1.PubSub PublishStream(stream eventbus.v1.PublishRequest) -> stream eventbus.v1.PublishResponse",
        "rpc eventbus.v1.PubSub ManagedSubscribe(stream eventbus.v1.ManagedFetchRequest) -> stream eventbus.v1.ManagedFetchResponse",
    ] {
        assert!(lines.iter().any(|l| l == rpc), "missing {rpc}");
    }
    assert_eq!(lines.iter().filter(|l| l.starts_with("rpc ")).count(), 6);
}

#[test]
fn matches_the_reference_contract_field_by_field() {
    let reference: PathBuf =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference");
    if !reference.join("pubsub_api.proto").exists() {
        eprintln!("reference contract not present; compared only the RPC shapes");
        return;
    }
    let theirs = contract(&compile(&reference));
    let ours = contract(&ours());
    let missing: Vec<_> = theirs.iter().filter(|l| !ours.contains(l)).collect();
    let extra: Vec<_> = ours.iter().filter(|l| !theirs.contains(l)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:#?}\nextra {extra:#?}"
    );
    assert!(theirs.len() > 60, "{} lines", theirs.len());
}
