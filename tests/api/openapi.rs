//! The API descriptions: the served OpenAPI document types every body, and the
//! AsyncAPI document describes every WebSocket frame a live session really sends.

mod asyncapi_frames;
mod typed_bodies;
