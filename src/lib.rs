//! SegmentIQ: customer segmentation by hierarchical clustering.
//!
//! One binary serves GraphQL (`graphql`), the predecessor's REST API (`rest`) and web pages
//! (`web`), all thin over `service`; runs are queued in PostgreSQL (`db`) and worked by `jobs`,
//! which call the pure clustering `engine`.

pub mod app;
pub mod cli;
pub mod config;
pub mod db;
pub mod engine;
pub mod error;
pub mod graphql;
pub mod http;
pub mod jobs;
pub mod rest;
pub mod server;
pub mod service;
pub mod web;
