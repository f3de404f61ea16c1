//! Compiles protos/pubsub_api.proto with protox (pure Rust; no protoc on the build machine) and
//! generates prost messages plus tonic client and server stubs.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../protos");
    let proto = root.join("pubsub_api.proto");
    println!("cargo:rerun-if-changed={}", proto.display());
    let descriptors = protox::compile([&proto], [&root])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(descriptors)?;
    Ok(())
}
