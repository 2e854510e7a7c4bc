//! Every schema file in schemas/ is embedded in the binaries (the execution input's schema has its own home,
//! `dfr_core::execution`).

use dfr_core::schema::DOCUMENTS;

#[test]
fn every_schema_file_on_disk_is_embedded() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas");
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".schema.json") && !name.starts_with("execution-") {
            assert!(
                DOCUMENTS.iter().any(|(n, _)| *n == name),
                "{name} is not embedded"
            );
        }
    }
}
