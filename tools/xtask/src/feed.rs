//! The IIO host feed: a real accelerometer recording
//! (`data/iio/hip-raw-excerpt.csv`, its source and licence in
//! `data/iio/README.md`) streamed into the guest's COM3 in the feed's
//! line format (`axiom_abi::feed`: `x y z temperature`, milli-units).

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The temperature sent with every sample (the recording has none), in
/// milli-degrees Celsius.
pub const TEMPERATURE: i32 = 25_000;

/// The shipped recording's path.
pub fn recording_path() -> PathBuf {
    crate::workspace::repo_root().join("data/iio/hip-raw-excerpt.csv")
}

/// The samples of an ActiGraph raw CSV export (header lines, then the
/// column names, then `x,y,z` in g per line) as feed samples: milli-g,
/// rounded, and [`TEMPERATURE`].
pub fn parse_actigraph(text: &str) -> Result<Vec<[i32; 4]>, String> {
    let mut lines = text.lines().enumerate();
    lines
        .by_ref()
        .find(|(_, l)| l.starts_with("Accelerometer X"))
        .ok_or("no `Accelerometer X,...` column line")?;
    let mut samples = Vec::new();
    for (n, line) in lines {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let g: Vec<f64> = line
            .split(',')
            .map(|f| f.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("line {}: {e}: {line:?}", n + 1))?;
        let [x, y, z] = g[..] else {
            return Err(format!("line {}: {} values, not 3: {line:?}", n + 1, g.len()));
        };
        let milli = |v: f64| (v * 1000.0).round() as i32;
        samples.push([milli(x), milli(y), milli(z), TEMPERATURE]);
    }
    if samples.is_empty() {
        return Err("no samples".into());
    }
    Ok(samples)
}

/// The shipped recording's samples.
pub fn recording() -> Result<Vec<[i32; 4]>, String> {
    let path = recording_path();
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_actigraph(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// One sample as a feed line.
pub fn line(s: &[i32; 4]) -> String {
    format!("{} {} {} {}\n", s[0], s[1], s[2], s[3])
}

/// Connects to `socket` (QEMU's end of COM3, waiting up to 30 s for it)
/// and streams `samples` in a loop from a thread, until the guest goes.
/// The guest reads one sample per scan and leaves the rest in the line,
/// so QEMU's socket fills and the writes wait: the pace is the guest's.
pub fn stream(socket: &Path, samples: Vec<[i32; 4]>) -> Result<(), String> {
    let until = Instant::now() + Duration::from_secs(30);
    let mut conn = loop {
        match UnixStream::connect(socket) {
            Ok(c) => break c,
            Err(e) if Instant::now() > until => {
                return Err(format!("IIO feed socket {}: {e}", socket.display()));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    };
    std::thread::spawn(move || {
        let text: String = samples.iter().map(line).collect();
        let header = "# x y z (milli-g) temperature (milli-degC): data/iio/hip-raw-excerpt.csv\n";
        if conn.write_all(header.as_bytes()).is_err() {
            return;
        }
        while conn.write_all(text.as_bytes()).is_ok() {}
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_actigraph_export_parses_to_milli_g() {
        let text = "--- Data File Created By ActiGraph ---\r\nSerial Number: X\r\n\
                    Accelerometer X,Accelerometer Y,Accelerometer Z\r\n0.262,-0.688,0.063\r\n\
                    -4.164,2.2345,0\r\n";
        assert_eq!(
            parse_actigraph(text),
            Ok(vec![[262, -688, 63, TEMPERATURE], [-4164, 2235, 0, TEMPERATURE]])
        );
        assert_eq!(line(&[262, -688, 63, 25000]), "262 -688 63 25000\n");
        assert!(parse_actigraph("Accelerometer X\n1,2\n").unwrap_err().contains("2 values"));
        assert!(parse_actigraph("Accelerometer X\n1,a,2\n").is_err());
        assert!(parse_actigraph("no header\n1,2,3\n").is_err());
    }

    #[test]
    fn the_shipped_recording_is_twenty_seconds_of_movement() {
        let s = recording().unwrap();
        assert_eq!(s.len(), 2000, "20 s at 100 Hz");
        // Upright: gravity on y; the second half is vigorous (beyond
        // 1.5 g often), the first much less.
        let quiet = &s[..200];
        assert!(quiet.iter().all(|v| (-1600..-400).contains(&v[1])), "{:?}", &quiet[..5]);
        let strong = |half: &[[i32; 4]]| {
            half.iter()
                .filter(|v| v[..3].iter().map(|&a| (a as f64).powi(2)).sum::<f64>() > 2.25e6)
                .count()
        };
        let (first, second) = (strong(&s[..1000]), strong(&s[1000..]));
        assert!(first < 20 && second > 100, "samples beyond 1.5 g: {first}, then {second}");
    }
}
