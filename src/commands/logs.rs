//! `logs`: print a container's recorded output, stdout to stdout and stderr to stderr;
//! `-f` follows until the container stops.

use crate::cli::LogsArgs;
use crate::monitor::LogEntry;
use crate::paths::Paths;
use crate::state::ContainerStore;
use std::io::{BufRead, BufReader, Write};
use std::time::Duration;

pub fn logs(paths: &Paths, args: LogsArgs) -> anyhow::Result<()> {
    let store = ContainerStore::open(&paths.containers())?;
    let rec = store.resolve(&args.container)?;
    let path = paths.container_dir(&rec.id).join("container.log");
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !args.follow => return Ok(()),
        Err(e) => return Err(anyhow::anyhow!("cannot read the log of {}: {e}", rec.name)),
    };
    let mut reader = BufReader::new(file);
    let mut line = String::new();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    loop {
        line.clear();
        let n = reader.read_line(&mut line)?;
        if n == 0 || !line.ends_with('\n') {
            if !args.follow {
                break;
            }
            // Follow: wait for more while the container runs.
            let running = store.load(&rec.id).map(|r| r.is_running()).unwrap_or(false);
            if !running && n == 0 {
                break;
            }
            if n > 0 {
                // A partial line: seek back so it is read whole next time.
                reader.seek_relative(-(n as i64))?;
            }
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        let Ok(entry) = serde_json::from_str::<LogEntry>(&line) else {
            continue;
        };
        let text = if args.timestamps {
            format!("{} {}", entry.time, entry.log)
        } else {
            entry.log
        };
        if entry.stream == "stderr" {
            stderr.lock().write_all(text.as_bytes())?;
        } else {
            stdout.lock().write_all(text.as_bytes())?;
        }
    }
    Ok(())
}
