//! Where a trace comes from: a sidecar file beside the document, or the document itself when
//! it is a saved response or log.

pub mod api_key;
pub mod chunks;
mod cut;
mod distribution;
pub mod draft;
pub mod http;
pub mod inline;
#[cfg(feature = "local")]
pub mod local;
pub mod sidecar;
pub mod transport;
