//! The HTTP kit every feature uses, at the bottom of the emulator: failures and replies,
//! authentication, query parameters, method guards and conditional requests. It imports nothing
//! else of the emulator.

pub mod auth;
pub mod conditional;
pub mod failure;
pub mod reply;
pub mod request;
