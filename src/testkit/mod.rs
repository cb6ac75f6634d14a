//! Real local stand-ins for the outside world, for tests and the demo.
//! They listen on 127.0.0.1 only.

pub mod mock_platform;
