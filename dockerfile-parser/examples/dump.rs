//! Print a Dockerfile's node tree in BuildKit's `result` format.
//!
//! Usage: `cargo run -q -p dockerfile-parser --example dump -- PATH/Dockerfile`

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: dump PATH/Dockerfile");
        std::process::exit(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let text = match dockerfile_parser::bytes_to_str(&bytes) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{path}:{}:{}: {e}", e.line, e.column);
            std::process::exit(1);
        }
    };
    match dockerfile_parser::parse_nodes(text) {
        Ok(root) => println!("{}", root.dump()),
        Err(e) => {
            eprintln!("{path}:{}:{}: {e}", e.line, e.column);
            std::process::exit(1);
        }
    }
}
