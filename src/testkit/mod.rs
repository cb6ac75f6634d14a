//! Local stand-ins for the outside world, for `make demo` and the tests:
//! every one listens on 127.0.0.1 only.

pub mod mock_platform;
pub mod smtp_sink;
pub mod tsa;
