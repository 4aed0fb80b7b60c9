//! Where a trace comes from. For now: a sidecar file beside the document.

pub mod sidecar;
