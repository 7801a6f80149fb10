//! The host's view of a command: resident memory and CPU time of its process tree, read from
//! procfs on Linux (`/proc/PID/status` VmRSS/VmHWM, `/proc/PID/stat` utime/stime/cutime/cstime)
//! and from `ps` on macOS. Parsing is pure and tested on captured text; reading the system is
//! [`HostProbe::read`].

use headroom_core::measure::HostSummary;
use headroom_core::Bytes;

/// The most processes one sample reads (a fork bomb cannot make a sample unbounded).
pub const MAX_PROCESSES: usize = 4096;
/// The most bytes of one procfs file or of `ps` output that are parsed.
pub const MAX_TEXT: usize = 1 << 20;

/// `/proc/PID/status`: resident set now and its high-water mark.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcStatus {
    pub vm_rss: Option<Bytes>,
    pub vm_hwm: Option<Bytes>,
}

/// Reads `VmRSS:` and `VmHWM:` (kB, as the kernel prints them: units of 1024 bytes).
pub fn parse_status(text: &str) -> Result<ProcStatus, String> {
    let mut out = ProcStatus::default();
    for line in text.lines().take(256) {
        let (key, rest) = match line.split_once(':') {
            Some(x) => x,
            None => continue,
        };
        let slot = match key {
            "VmRSS" => &mut out.vm_rss,
            "VmHWM" => &mut out.vm_hwm,
            _ => continue,
        };
        let mut parts = rest.split_whitespace();
        let n: u64 = parts
            .next()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("status line `{key}`: no number"))?;
        if parts.next() != Some("kB") {
            return Err(format!("status line `{key}`: expected a value in kB"));
        }
        *slot = Some(Bytes(n.saturating_mul(1024)));
    }
    Ok(out)
}

/// `/proc/PID/stat`: the parent and the CPU time in clock ticks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProcStat {
    pub pid: u32,
    pub ppid: u32,
    /// User and system time of the process itself.
    pub utime: u64,
    pub stime: u64,
    /// User and system time of its children that have exited and been waited for.
    pub cutime: u64,
    pub cstime: u64,
}

/// Parses `pid (comm) state ppid ... utime stime cutime cstime ...` (fields 14-17 of proc(5));
/// `comm` may hold spaces and parentheses, so the fields are read after the last `)`.
pub fn parse_stat(text: &str) -> Result<ProcStat, String> {
    let open = text
        .find('(')
        .ok_or("stat: no `(` before the command name")?;
    let close = text
        .rfind(')')
        .ok_or("stat: no `)` after the command name")?;
    let pid = text[..open]
        .trim()
        .parse()
        .map_err(|_| "stat: the pid is not a number".to_string())?;
    // After ')': field 3 (state) is index 0, so field k is index k - 3.
    let f: Vec<&str> = text[close + 1..].split_whitespace().take(20).collect();
    let num = |k: usize| -> Result<u64, String> {
        f.get(k - 3)
            .and_then(|v| v.parse::<i64>().ok())
            .map(|v| v.max(0) as u64)
            .ok_or_else(|| format!("stat: field {k} is missing or not a number"))
    };
    Ok(ProcStat {
        pid,
        ppid: u32::try_from(num(4)?).map_err(|_| "stat: the ppid is out of range".to_string())?,
        utime: num(14)?,
        stime: num(15)?,
        cutime: num(16)?,
        cstime: num(17)?,
    })
}

/// One row of `ps -A -o pid=,ppid=,rss=,time=` (macOS and BSD): RSS in KiB, CPU time as
/// `[[DD-]HH:]MM:SS[.ss]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PsRow {
    pub pid: u32,
    pub ppid: u32,
    pub rss: Bytes,
    pub cpu_s: f64,
}

/// `[[DD-]HH:]MM:SS[.ss]` as seconds.
pub fn parse_cpu_time(t: &str) -> Result<f64, String> {
    let bad = || format!("cpu time `{t}`: expected [[DD-]HH:]MM:SS[.ss]");
    let (days, rest) = match t.split_once('-') {
        Some((d, r)) => (d.parse::<f64>().map_err(|_| bad())?, r),
        None => (0.0, t),
    };
    let parts: Vec<&str> = rest.split(':').collect();
    if parts.is_empty() || parts.len() > 3 {
        return Err(bad());
    }
    let mut secs = 0.0;
    for p in &parts {
        let v: f64 = p.parse().map_err(|_| bad())?;
        if !(v.is_finite() && v >= 0.0) {
            return Err(bad());
        }
        secs = secs * 60.0 + v;
    }
    Ok(days * 86_400.0 + secs)
}

/// Parses `ps` output; a malformed row is an error naming its line.
pub fn parse_ps(text: &str) -> Result<Vec<PsRow>, String> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() {
            continue;
        }
        if rows.len() >= MAX_PROCESSES {
            break;
        }
        let f: Vec<&str> = l.split_whitespace().collect();
        let bad = |what: &str| format!("ps line {}: {what}", i + 1);
        if f.len() != 4 {
            return Err(bad("expected pid, ppid, rss and time"));
        }
        rows.push(PsRow {
            pid: f[0].parse().map_err(|_| bad("the pid is not a number"))?,
            ppid: f[1].parse().map_err(|_| bad("the ppid is not a number"))?,
            rss: Bytes(
                f[2].parse::<u64>()
                    .map_err(|_| bad("the rss is not a number"))?
                    .saturating_mul(1024),
            ),
            cpu_s: parse_cpu_time(f[3]).map_err(|e| bad(&e))?,
        });
    }
    Ok(rows)
}

/// The pids of `root` and its descendants in a parent table, bounded by [`MAX_PROCESSES`].
pub fn descendants(root: u32, parent_of: &[(u32, u32)]) -> Vec<u32> {
    let mut pids = vec![root];
    let mut i = 0;
    while i < pids.len() && pids.len() < MAX_PROCESSES {
        let p = pids[i];
        for (c, pp) in parent_of {
            if *pp == p && !pids.contains(c) {
                pids.push(*c);
            }
        }
        i += 1;
    }
    pids
}

/// One reading of the process tree.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TreeReading {
    /// Resident memory summed over the live processes.
    pub rss: Bytes,
    /// The root's high-water mark (Linux only).
    pub root_hwm: Option<Bytes>,
    /// CPU seconds of the live processes and of the children they have waited for.
    pub cpu_s: f64,
    pub processes: u32,
}

/// The tree's reading from procfs texts (`stat` and `status` per pid), `ticks` clock ticks a second.
pub fn tree_from_procfs(
    root: u32,
    procs: &[(ProcStat, ProcStatus)],
    ticks_per_s: f64,
) -> TreeReading {
    let parents: Vec<(u32, u32)> = procs.iter().map(|(s, _)| (s.pid, s.ppid)).collect();
    let tree = descendants(root, &parents);
    let mut r = TreeReading::default();
    let mut ticks = 0u64;
    for (st, status) in procs.iter().filter(|(s, _)| tree.contains(&s.pid)) {
        r.processes += 1;
        r.rss += status.vm_rss.unwrap_or(Bytes::ZERO);
        ticks = ticks.saturating_add(st.utime + st.stime + st.cutime + st.cstime);
        if st.pid == root {
            r.root_hwm = status.vm_hwm;
        }
    }
    r.cpu_s = ticks as f64 / ticks_per_s;
    r
}

/// The tree's reading from `ps` rows (CPU time there includes waited-for children on macOS).
pub fn tree_from_ps(root: u32, rows: &[PsRow]) -> TreeReading {
    let parents: Vec<(u32, u32)> = rows.iter().map(|r| (r.pid, r.ppid)).collect();
    let tree = descendants(root, &parents);
    let mut r = TreeReading::default();
    for row in rows.iter().filter(|x| tree.contains(&x.pid)) {
        r.processes += 1;
        r.rss += row.rss;
        r.cpu_s += row.cpu_s;
    }
    r
}

/// The running summary of the tree's readings.
#[derive(Clone, Debug, Default)]
pub struct HostAccumulator {
    samples: u64,
    rss_peak: Bytes,
    hwm_peak: Option<Bytes>,
    cpu_s: f64,
    processes_peak: u32,
}

impl HostAccumulator {
    pub fn add(&mut self, r: &TreeReading) {
        if r.processes == 0 {
            return;
        }
        self.samples += 1;
        self.rss_peak = self.rss_peak.max(r.rss);
        self.hwm_peak = match (self.hwm_peak, r.root_hwm) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        // CPU time only grows; a child that exits unwaited drops out, so keep the largest seen.
        self.cpu_s = self.cpu_s.max(r.cpu_s);
        self.processes_peak = self.processes_peak.max(r.processes);
    }

    pub fn finish(&self, sensor: &str, interval_s: f64, duration_s: f64) -> Option<HostSummary> {
        (self.samples > 0).then(|| HostSummary {
            sensor: sensor.to_string(),
            samples: self.samples,
            interval_s,
            rss_peak: self.rss_peak,
            hwm_peak: self.hwm_peak,
            cpu_time_s: self.cpu_s,
            cpu_utilization: (duration_s > 0.0).then(|| self.cpu_s / duration_s),
            processes_peak: self.processes_peak,
        })
    }
}

/// Reads the process tree from the running system.
#[derive(Clone, Debug)]
pub enum HostProbe {
    /// Linux procfs, with the clock ticks a second `getconf CLK_TCK` gave.
    Procfs { ticks_per_s: f64 },
    /// `ps`, as on macOS.
    Ps,
}

impl HostProbe {
    /// The probe this system has, or why there is none.
    pub fn detect() -> Result<HostProbe, String> {
        if std::path::Path::new("/proc/self/stat").exists() {
            let out = std::process::Command::new("getconf")
                .arg("CLK_TCK")
                .output()
                .map_err(|e| format!("cannot run `getconf CLK_TCK`: {e}"))?;
            let text = String::from_utf8_lossy(&out.stdout);
            let ticks: f64 = text
                .trim()
                .parse()
                .map_err(|_| format!("`getconf CLK_TCK` printed `{}`", text.trim()))?;
            if !(ticks.is_finite() && ticks > 0.0) {
                return Err(format!("`getconf CLK_TCK` printed {ticks}"));
            }
            return Ok(HostProbe::Procfs { ticks_per_s: ticks });
        }
        if cfg!(unix) {
            return Ok(HostProbe::Ps);
        }
        Err("no procfs and no ps on this system".into())
    }

    pub fn sensor(&self) -> &'static str {
        match self {
            HostProbe::Procfs { .. } => "procfs",
            HostProbe::Ps => "ps",
        }
    }

    /// One reading of `root`'s tree.
    pub fn read(&self, root: u32) -> TreeReading {
        match self {
            HostProbe::Procfs { ticks_per_s } => {
                let mut procs = Vec::new();
                if let Ok(dir) = std::fs::read_dir("/proc") {
                    for e in dir.flatten() {
                        if procs.len() >= MAX_PROCESSES {
                            break;
                        }
                        if e.file_name().to_string_lossy().parse::<u32>().is_err() {
                            continue;
                        }
                        let read = |name: &str| {
                            std::fs::read_to_string(e.path().join(name))
                                .ok()
                                .filter(|t| t.len() <= MAX_TEXT)
                        };
                        let (Some(stat), Some(status)) = (read("stat"), read("status")) else {
                            continue;
                        };
                        if let (Ok(st), Ok(ss)) = (parse_stat(&stat), parse_status(&status)) {
                            procs.push((st, ss));
                        }
                    }
                }
                tree_from_procfs(root, &procs, *ticks_per_s)
            }
            HostProbe::Ps => {
                let out = std::process::Command::new("ps")
                    .args(["-A", "-o", "pid=,ppid=,rss=,time="])
                    .output();
                match out {
                    Ok(o) if o.stdout.len() <= MAX_TEXT => {
                        parse_ps(&String::from_utf8_lossy(&o.stdout))
                            .map(|rows| tree_from_ps(root, &rows))
                            .unwrap_or_default()
                    }
                    _ => TreeReading::default(),
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // Captured from a Linux 6.x kernel (`cat /proc/PID/status`, lines kept as printed).
    const STATUS: &str = "Name:\tllama-bench\nUmask:\t0022\nState:\tR (running)\nTgid:\t4242\n\
        Pid:\t4242\nPPid:\t4200\nVmPeak:\t 1433624 kB\nVmSize:\t 1367064 kB\nVmLck:\t       0 kB\n\
        VmHWM:\t  742316 kB\nVmRSS:\t  741180 kB\nRssAnon:\t  368012 kB\nThreads:\t2\n";
    // `cat /proc/PID/stat` with a command name holding a space and a parenthesis.
    const STAT: &str = "4242 (llama (bench)) R 4200 4242 4200 34816 4242 4194304 94371 0 \
        0 0 1234 56 7 8 20 0 2 0 9431210 1399873536 185295 18446744073709551615 1 1 0 0 0 0 0 \
        4096 0 0 0 0 17 1 0 0 0 0 0";

    #[test]
    fn status_gives_rss_and_high_water_mark_in_bytes() {
        let s = parse_status(STATUS).unwrap();
        // 741180 kB x 1024 and 742316 kB x 1024.
        assert_eq!(s.vm_rss, Some(Bytes(741_180 * 1024)));
        assert_eq!(s.vm_hwm, Some(Bytes(742_316 * 1024)));
        assert!(parse_status("VmRSS:\t12 MB\n").unwrap_err().contains("kB"));
        assert!(parse_status("VmRSS:\tmany kB\n")
            .unwrap_err()
            .contains("VmRSS"));
    }

    #[test]
    fn stat_fields_are_read_after_the_last_parenthesis() {
        let s = parse_stat(STAT).unwrap();
        assert_eq!((s.pid, s.ppid), (4242, 4200));
        assert_eq!((s.utime, s.stime, s.cutime, s.cstime), (1234, 56, 7, 8));
        assert!(parse_stat("12 (x) R").unwrap_err().contains("field 4"));
        assert!(parse_stat("no parens").is_err());
    }

    #[test]
    fn the_tree_sums_descendants_only() {
        let st = |pid, ppid, utime| ProcStat {
            pid,
            ppid,
            utime,
            stime: 0,
            cutime: 0,
            cstime: 0,
        };
        let mem = |kib: u64| ProcStatus {
            vm_rss: Some(Bytes(kib * 1024)),
            vm_hwm: Some(Bytes(kib * 2048)),
        };
        let procs = [
            (st(10, 1, 100), mem(1000)),
            (st(11, 10, 50), mem(300)),
            (st(12, 11, 50), mem(200)),
            (st(13, 1, 999), mem(9999)),
        ];
        let r = tree_from_procfs(10, &procs, 100.0);
        // 1000 + 300 + 200 KiB; (100 + 50 + 50) ticks / 100 per second = 2 s; not pid 13.
        assert_eq!(r.rss, Bytes(1500 * 1024));
        assert_eq!(r.root_hwm, Some(Bytes(2000 * 1024)));
        assert!((r.cpu_s - 2.0).abs() < 1e-12);
        assert_eq!(r.processes, 3);
        let mut acc = HostAccumulator::default();
        acc.add(&r);
        acc.add(&TreeReading {
            rss: Bytes(10),
            cpu_s: 1.0,
            processes: 1,
            root_hwm: None,
        });
        let h = acc.finish("procfs", 0.05, 4.0).unwrap();
        assert_eq!(h.rss_peak, Bytes(1500 * 1024));
        assert_eq!(h.samples, 2);
        // 2 CPU seconds over 4 s of wall time.
        assert_eq!(h.cpu_utilization, Some(0.5));
    }

    #[test]
    fn ps_rows_and_cpu_times_as_macos_prints_them() {
        // `ps -A -o pid=,ppid=,rss=,time=` on macOS 14.
        let text = "    1     0  14368   2:41.36\n  512     1   4096   0:00.05\n  \
            600   512 812345 1-02:03:04\n";
        let rows = parse_ps(text).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[2].rss, Bytes(812_345 * 1024));
        // 1 day + 2 h 3 min 4 s = 86400 + 7384 s; 2 min 41.36 s = 161.36 s.
        assert!((rows[2].cpu_s - 93_784.0).abs() < 1e-9);
        assert!((rows[0].cpu_s - 161.36).abs() < 1e-9);
        let r = tree_from_ps(512, &rows);
        assert_eq!(r.rss, Bytes((4096 + 812_345) * 1024));
        assert_eq!(r.processes, 2);
        assert!(parse_ps("1 0 x 0:01\n").unwrap_err().contains("line 1"));
        assert!(parse_cpu_time("1:2:3:4").is_err());
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_is_read_from_procfs() {
        let p = HostProbe::detect().unwrap();
        let r = p.read(std::process::id());
        assert!(r.processes >= 1);
        assert!(r.rss > Bytes::ZERO);
    }
}
