//! `headroom measure -- COMMAND`: run the command, sample the GPUs (NVML) and its process tree's
//! resident memory and CPU time (procfs or `ps`) while it runs, and leave one
//! record — also when the command fails, is interrupted, or this process is killed (a provisional
//! record marked interrupted is written first and replaced at the end).

use crate::atomic::{read_prior, write_with_line};
use crate::error::MeasureError;
use crate::host::{HostAccumulator, HostProbe};
use crate::output::{consume, StreamResult};
use crate::reader::GpuReader;
use crate::sampler::{Sampler, SystemClock, DEFAULT_INTERVAL_S};
use headroom_core::measure::{CommandRun, MeasurementRecord, RunStatus, SourceKind};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How `measure` runs.
#[derive(Clone, Debug)]
pub struct MeasureOptions {
    pub argv: Vec<String>,
    /// Where the record is appended (JSON lines).
    pub out: PathBuf,
    pub interval_s: f64,
    /// Pass the command's output through to this terminal.
    pub echo: bool,
    /// After an interrupt, how long the command gets to exit before it is killed.
    pub kill_grace_s: f64,
    /// Labels the caller knows and the output may not say.
    pub model: Option<String>,
    pub quant: Option<String>,
    pub runtime: Option<String>,
}

impl MeasureOptions {
    pub fn new(argv: Vec<String>, out: PathBuf) -> MeasureOptions {
        MeasureOptions {
            argv,
            out,
            interval_s: DEFAULT_INTERVAL_S,
            echo: true,
            kill_grace_s: 5.0,
            model: None,
            quant: None,
            runtime: None,
        }
    }
}

/// The command's process and, on Linux, its descendants (read from /proc).
pub fn process_tree(root: u32) -> Vec<u32> {
    #[cfg(target_os = "linux")]
    {
        let mut parent_of: Vec<(u32, u32)> = Vec::new();
        if let Ok(dir) = std::fs::read_dir("/proc") {
            for e in dir.flatten() {
                if parent_of.len() >= crate::host::MAX_PROCESSES {
                    break;
                }
                if e.file_name().to_string_lossy().parse::<u32>().is_err() {
                    continue;
                }
                let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
                    continue;
                };
                if let Ok(st) = crate::host::parse_stat(&stat) {
                    parent_of.push((st.pid, st.ppid));
                }
            }
        }
        crate::host::descendants(root, &parent_of)
    }
    #[cfg(not(target_os = "linux"))]
    {
        vec![root]
    }
}

/// Fills what the record does not yet say from what the command's output reported.
fn merge(rec: &mut MeasurementRecord, found: Vec<MeasurementRecord>) {
    for r in found {
        rec.notes.push(format!(
            "read from the command's output: {:?} at line {}",
            r.source.kind,
            r.source.line.unwrap_or(0)
        ));
        rec.runtime = rec.runtime.take().or(r.runtime);
        rec.runtime_version = rec.runtime_version.take().or(r.runtime_version);
        rec.backend = rec.backend.take().or(r.backend);
        rec.model = rec.model.take().or(r.model);
        rec.quant = rec.quant.take().or(r.quant);
        rec.model_size = rec.model_size.or(r.model_size);
        rec.n_params = rec.n_params.or(r.n_params);
        let s = &mut rec.settings;
        let o = r.settings;
        s.n_ctx = s.n_ctx.or(o.n_ctx);
        s.n_batch = s.n_batch.or(o.n_batch);
        s.n_ubatch = s.n_ubatch.or(o.n_ubatch);
        s.n_seq = s.n_seq.or(o.n_seq);
        s.flash_attn = s.flash_attn.or(o.flash_attn);
        s.type_k = s.type_k.take().or(o.type_k);
        s.type_v = s.type_v.take().or(o.type_v);
        s.n_gpu_layers = s.n_gpu_layers.or(o.n_gpu_layers);
        s.n_threads = s.n_threads.or(o.n_threads);
        s.gpu_memory_utilization = s.gpu_memory_utilization.or(o.gpu_memory_utilization);
        s.n_devices = s.n_devices.or(o.n_devices);
        rec.memory.extend(r.memory);
        rec.speed.extend(r.speed);
        rec.peak_memory = rec.peak_memory.or(r.peak_memory);
        rec.serving = rec.serving.take().or(r.serving);
        rec.kv_capacity = rec.kv_capacity.take().or(r.kv_capacity);
        rec.durations.extend(r.durations);
        if r.status == RunStatus::Failed {
            rec.notes
                .push("the runtime's output reports a failure".into());
        }
        rec.notes.extend(r.notes.into_iter().take(4));
    }
}

/// Runs the command and writes its record to `opts.out`. `reader` is NVML when it could be opened;
/// `reader_error` says why it could not. A command that cannot start still leaves a failed record.
pub fn measure(
    opts: &MeasureOptions,
    reader: Option<Box<dyn GpuReader>>,
    reader_error: Option<String>,
) -> Result<MeasurementRecord, MeasureError> {
    let program = opts.argv.first().ok_or(MeasureError::NoCommand)?.clone();
    let prior = read_prior(&opts.out)?;
    let mut rec = MeasurementRecord::new(SourceKind::Nvml);
    rec.source.origin = opts.argv.join(" ");
    rec.started_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()
        .map(|d| d.as_secs());
    rec.model = opts.model.clone();
    rec.quant = opts.quant.clone();
    rec.runtime = opts.runtime.clone();

    let mut reader = reader;
    let mut sampler = None;
    if let Some(r) = reader.as_mut() {
        rec.driver = r.driver();
        match r.devices() {
            Ok(devs) => {
                rec.devices = devs;
                let mut s = Sampler::new(rec.devices.len(), opts.interval_s);
                for (i, sum) in s.summaries.iter_mut().enumerate() {
                    sum.baseline_used = r.sample(i as u32, &[]).ok().and_then(|x| x.memory_used);
                }
                sampler = Some(s);
            }
            Err(e) => rec.notes.push(format!("no GPU readings were taken: {e}")),
        }
    } else {
        rec.notes.push(format!(
            "no GPU readings were taken: {}",
            reader_error.as_deref().unwrap_or("no NVIDIA GPU reader")
        ));
    }

    // A provisional record, replaced at the end; what stays if this process is killed.
    let mut provisional = rec.clone();
    provisional.status = RunStatus::Interrupted;
    provisional
        .notes
        .push("the measurement did not finish: headroom itself was stopped".into());
    write_with_line(&opts.out, &prior, &to_line(&provisional))?;

    let interrupted = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let _ = signal_hook::flag::register(sig, Arc::clone(&interrupted));
    }

    let host = HostProbe::detect();
    if let Err(e) = &host {
        rec.notes
            .push(format!("no memory or CPU readings of the process: {e}"));
    }
    let started = Instant::now();
    let child = Command::new(&program)
        .args(&opts.argv[1..])
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(source) => {
            rec.status = RunStatus::Failed;
            rec.notes
                .push(format!("cannot start `{program}`: {source}"));
            rec.command = Some(CommandRun {
                argv: opts.argv.clone(),
                ..CommandRun::default()
            });
            write_with_line(&opts.out, &prior, &to_line(&rec))?;
            return Err(MeasureError::Spawn { program, source });
        }
    };
    let root = child.id();

    let echo = opts.echo;
    let out_thread = child.stdout.take().map(|s| {
        std::thread::spawn(move || {
            let mut so = std::io::stdout();
            consume(
                s,
                echo.then_some(&mut so as &mut dyn std::io::Write),
                "stdout",
            )
        })
    });
    let err_thread = child.stderr.take().map(|s| {
        std::thread::spawn(move || {
            let mut se = std::io::stderr();
            consume(
                s,
                echo.then_some(&mut se as &mut dyn std::io::Write),
                "stderr",
            )
        })
    });

    let stop = Arc::new(AtomicBool::new(false));
    let host_thread = match &host {
        Ok(probe) => {
            let (probe, stop, interval) = (probe.clone(), Arc::clone(&stop), opts.interval_s);
            Some(std::thread::spawn(move || {
                let mut acc = HostAccumulator::default();
                loop {
                    // one reading after the stop too: the last state before the command ended
                    let done = stop.load(Ordering::Acquire);
                    acc.add(&probe.read(root));
                    if done {
                        break;
                    }
                    std::thread::sleep(Duration::from_secs_f64(interval.max(0.001)));
                }
                acc
            }))
        }
        Err(_) => None,
    };
    let sampler_thread = match (sampler, reader) {
        (Some(mut s), Some(mut r)) => {
            let stop = Arc::clone(&stop);
            Some(std::thread::spawn(move || {
                let mut clock = SystemClock::default();
                s.run(r.as_mut(), &mut clock, &stop, &mut || process_tree(root));
                s
            }))
        }
        _ => None,
    };

    let mut interrupted_at: Option<Instant> = None;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) => {}
            Err(_) => break None,
        }
        if interrupted.load(Ordering::Relaxed) {
            let t0 = *interrupted_at.get_or_insert_with(Instant::now);
            if t0.elapsed().as_secs_f64() > opts.kill_grace_s {
                let _ = child.kill();
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let duration = started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Release);
    if let (Some(t), Ok(probe)) = (host_thread, &host) {
        if let Ok(acc) = t.join() {
            rec.host = acc.finish(probe.sensor(), opts.interval_s, duration);
        }
    }
    if let Some(t) = sampler_thread {
        if let Ok(s) = t.join() {
            rec.gpus = s
                .summaries
                .iter()
                .zip(&rec.devices)
                .map(|(sum, d)| sum.finish(d.clone()))
                .collect();
        }
    }
    let join = |t: Option<std::thread::JoinHandle<StreamResult>>| t.and_then(|t| t.join().ok());
    let so = join(out_thread);
    let se = join(err_thread);

    let mut run = CommandRun {
        argv: opts.argv.clone(),
        duration_s: duration,
        ..CommandRun::default()
    };
    if let Some(st) = status {
        run.exit_code = st.code();
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            run.signal = st.signal();
        }
    }
    rec.status = if interrupted.load(Ordering::Relaxed) || run.signal.is_some() {
        RunStatus::Interrupted
    } else if run.exit_code == Some(0) {
        RunStatus::Ok
    } else {
        RunStatus::Failed
    };
    let mut found = Vec::new();
    if let Some(s) = so {
        run.stdout_tail = s.tail.text();
        run.bytes_dropped += s.tail.dropped;
        found.extend(s.records);
    }
    if let Some(s) = se {
        run.stderr_tail = s.tail.text();
        run.bytes_dropped += s.tail.dropped;
        found.extend(s.records);
    }
    rec.command = Some(run);
    let from_output = !found.is_empty();
    merge(&mut rec, found);
    if !rec.gpus.is_empty() {
        rec.sensors.push("nvml".into());
    }
    if let Some(h) = &rec.host {
        rec.sensors.push(h.sensor.clone());
    } else if host.is_ok() {
        rec.notes
            .push("the process ended before its memory and CPU time could be read".into());
    }
    if from_output {
        rec.sensors.push("output".into());
    }
    write_with_line(&opts.out, &prior, &to_line(&rec))?;
    Ok(rec)
}

fn to_line(r: &MeasurementRecord) -> String {
    // Serialising plain data to a string cannot fail; an empty object is written if it ever did.
    serde_json::to_string(r).unwrap_or_else(|_| "{}".into())
}

#[cfg(all(test, unix))]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::reader::{FakeReader, GpuSample};
    use headroom_core::measure::DeviceInfo;

    fn run(
        script: &str,
        reader: Option<Box<dyn GpuReader>>,
    ) -> (MeasurementRecord, Vec<MeasurementRecord>) {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("m.jsonl");
        std::fs::write(&out, "{\"earlier\":true}\n").unwrap();
        let mut o = MeasureOptions::new(vec!["sh".into(), "-c".into(), script.into()], out.clone());
        o.echo = false;
        o.interval_s = 0.01;
        let rec = measure(&o, reader, Some("NVML is not available: test".into())).unwrap();
        let text = std::fs::read_to_string(&out).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("{\"earlier\":true}"));
        let rest: Vec<MeasurementRecord> =
            lines.map(|l| serde_json::from_str(l).unwrap()).collect();
        (rec, rest)
    }

    #[test]
    fn without_a_gpu_the_command_runs_and_the_record_says_so() {
        let (rec, file) = run(
            "echo 'Prompt: 12 tokens, 50.5 tokens-per-sec'; echo 'Peak memory: 2.000 GB'; echo oops >&2; exit 3",
            None,
        );
        assert_eq!(file.len(), 1, "the provisional record is replaced");
        assert_eq!(file[0], rec);
        assert_eq!(rec.status, RunStatus::Failed);
        assert_eq!(rec.command.as_ref().unwrap().exit_code, Some(3));
        assert!(rec.command.as_ref().unwrap().stderr_tail.contains("oops"));
        assert!(rec.notes[0].starts_with("no GPU readings were taken: NVML is not available"));
        assert!(rec.gpus.is_empty());
        // The mlx-style lines the command printed became readings.
        assert_eq!(rec.speed[0].tokens_per_sec, 50.5);
        assert_eq!(rec.peak_memory, Some(headroom_core::Bytes(2_000_000_000)));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn without_a_gpu_the_process_tree_is_read_from_procfs() {
        // A child that holds 64 MiB resident (written, so the pages are touched) and burns CPU.
        let (rec, _) = run(
            "python3 -c \"import time; b = bytearray(64 << 20); t = time.time()\nwhile time.time() - t < 0.4: pass\"",
            None,
        );
        assert_eq!(rec.status, RunStatus::Ok, "{:?}", rec.command);
        let h = rec.host.as_ref().expect("procfs readings");
        assert_eq!(h.sensor, "procfs");
        assert!(h.samples >= 5, "{h:?}");
        assert!(h.rss_peak >= headroom_core::Bytes(64 << 20), "{h:?}");
        // A busy loop for 0.4 s: at least 0.2 CPU seconds even on a loaded machine.
        assert!(h.cpu_time_s >= 0.2, "{h:?}");
        assert_eq!(rec.sensors, vec!["procfs".to_string()]);
    }

    #[test]
    fn a_signalled_command_is_interrupted() {
        let (rec, file) = run("kill -TERM $$", None);
        assert_eq!(rec.status, RunStatus::Interrupted);
        assert_eq!(rec.command.as_ref().unwrap().signal, Some(15));
        assert_eq!(file[0].status, RunStatus::Interrupted);
    }

    #[test]
    fn a_command_that_cannot_start_leaves_a_failed_record() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("m.jsonl");
        let o = MeasureOptions::new(vec!["/nonexistent/program".into()], out.clone());
        assert!(matches!(
            measure(&o, None, None),
            Err(MeasureError::Spawn { .. })
        ));
        let rec: MeasurementRecord =
            serde_json::from_str(std::fs::read_to_string(&out).unwrap().trim()).unwrap();
        assert_eq!(rec.status, RunStatus::Failed);
    }

    #[test]
    fn a_fake_gpu_is_sampled_while_the_command_runs() {
        let fake = FakeReader::new(
            vec![DeviceInfo {
                name: "fake".into(),
                index: Some(0),
                ..DeviceInfo::default()
            }],
            vec![vec![GpuSample {
                memory_used: Some(1000),
                power_mw: Some(100_000),
                ..GpuSample::default()
            }]],
        );
        let (rec, _) = run("sleep 0.3", Some(Box::new(fake)));
        assert_eq!(rec.status, RunStatus::Ok);
        let g = &rec.gpus[0];
        assert!(g.samples >= 3, "{}", g.samples);
        assert_eq!(g.memory_used_before, Some(headroom_core::Bytes(1000)));
        assert_eq!(g.power_max_w, Some(100.0));
        assert_eq!(rec.driver.as_deref(), Some("fake"));
    }

    #[test]
    fn process_tree_includes_the_root() {
        let me = std::process::id();
        assert_eq!(process_tree(me)[0], me);
    }
}
