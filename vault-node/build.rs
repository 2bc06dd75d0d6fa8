//! Build script: napi link arguments for the Node addon.

fn main() {
    napi_build::setup();
}
