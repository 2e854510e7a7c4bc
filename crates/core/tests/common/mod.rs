//! What several of the core's integration tests share.

use gotemplate::TemplateEnv;

/// A fixed clock and no environment variables or files: the configs read none of them.
pub struct NothingOutside;

impl TemplateEnv for NothingOutside {
    fn now(&self) -> chrono::DateTime<chrono::FixedOffset> {
        chrono::DateTime::parse_from_rfc3339("2024-03-05T06:07:08Z").unwrap()
    }
    fn env_var(&self, _name: &str) -> Option<String> {
        None
    }
    fn read_file(&self, _path: &str) -> std::io::Result<Vec<u8>> {
        Err(std::io::ErrorKind::NotFound.into())
    }
}
