//! Building and running the project's images with Debian's podman, offline and without leaving
//! anything on the machine: private storage (`--root`, `--runroot`, `--tmpdir`) under a temp dir.
//!
//! The flags are the ones that work on these machines: the vfs storage driver, runc (crun refuses
//! hybrid cgroups), cgroupfs and file events (no systemd or journald needed), and rlimits a
//! process without CAP_SYS_RESOURCE may set.
//!
//! Each image is built from a small context made for it: the repo's `.dockerignore` and the built
//! binaries at the release paths the Dockerfiles copy. So the test needs no release build, and a
//! second image takes one call: `podman.build_image("deploy/webhook/Dockerfile", &[(bin, name)])`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where the Dockerfiles copy binaries from, relative to the context (the repo root).
pub const RELEASE_DIR: &str = "target/x86_64-unknown-linux-musl/release";
/// The flags that make a container run here.
pub const ULIMITS: [&str; 4] = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"];

/// The repo root (the build context the Dockerfiles expect).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A podman with its own storage, removed on drop.
pub struct Podman {
    dir: PathBuf,
    next: std::cell::Cell<u32>,
}

impl Podman {
    /// A private podman, or `None` when the test cannot run here (root, podman and runc are
    /// needed; under CI a missing one fails the test, see [`crate::root::can_run`]).
    pub fn new(test: &str) -> Option<Podman> {
        let ready = crate::root::root().and_then(|()| {
            ["podman", "runc"].iter().try_for_each(|tool| {
                let found = Command::new("sh").args(["-c", &format!("command -v {tool}")]).output();
                match found {
                    Ok(o) if o.status.success() => Ok(()),
                    _ => Err(format!("{tool} is missing (tests/setup.sh installs it)")),
                }
            })
        });
        if !crate::root::can_run(test, ready) {
            return None;
        }
        let dir = std::env::temp_dir().join(format!("ipoib-podman-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in ["root", "runroot", "tmp", "context"] {
            std::fs::create_dir_all(dir.join(sub)).expect("create podman dirs");
        }
        // Our own containers.conf, so the machine's (if any) plays no part.
        let conf = "[engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\nruntime = \"runc\"\n";
        std::fs::write(dir.join("containers.conf"), conf).expect("write containers.conf");
        Some(Podman { dir, next: std::cell::Cell::new(0) })
    }

    /// `podman` with the private storage and the runtime flags.
    pub fn command(&self) -> Command {
        let mut command = Command::new("podman");
        command
            .arg("--root")
            .arg(self.dir.join("root"))
            .arg("--runroot")
            .arg(self.dir.join("runroot"))
            .arg("--tmpdir")
            .arg(self.dir.join("tmp"))
            .args(["--storage-driver", "vfs", "--runtime", "runc", "--cgroup-manager", "cgroupfs"])
            .args(["--events-backend", "file"])
            .env("CONTAINERS_CONF", self.dir.join("containers.conf"))
            .env("TMPDIR", self.dir.join("tmp"));
        command
    }

    /// Runs a podman command; panics with its output when it fails.
    pub fn checked(&self, args: &[&str]) -> Output {
        let output = self.command().args(args).output().expect("run podman");
        assert!(
            output.status.success(),
            "podman {}: {}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Builds `dockerfile` (relative to the repo root) from a context holding the repo's
    /// `.dockerignore` and each `(built binary, file name)` at `RELEASE_DIR/<file name>`, plus
    /// junk that `.dockerignore` must keep out. Returns the image's tag.
    pub fn build_image(&self, dockerfile: &str, binaries: &[(&Path, &str)]) -> String {
        let n = self.next.get();
        self.next.set(n + 1);
        let context = self.dir.join("context").join(n.to_string());
        let release = context.join(RELEASE_DIR);
        std::fs::create_dir_all(&release).expect("context dir");
        std::fs::copy(repo_root().join(".dockerignore"), context.join(".dockerignore")).expect("copy .dockerignore");
        for (binary, name) in binaries {
            std::fs::copy(binary, release.join(name)).expect("copy binary into context");
        }
        // What a real repo root also holds: sources and other builds, which must stay out.
        std::fs::write(context.join("Cargo.toml"), "[workspace]\n").expect("junk");
        std::fs::write(context.join(RELEASE_DIR).join("junk.rlib"), vec![0u8; 1 << 20]).expect("junk");
        let tag = format!("localhost/ipoib-test-{n}:latest");
        let dockerfile = repo_root().join(dockerfile);
        self.checked(&[
            "build",
            "--network",
            "none",
            "-q",
            "-t",
            &tag,
            "-f",
            dockerfile.to_str().unwrap(),
            context.to_str().unwrap(),
        ]);
        tag
    }

    /// The image's size in bytes, as podman reports it.
    pub fn image_size(&self, tag: &str) -> u64 {
        let out = self.checked(&["image", "inspect", "--format", "{{.Size}}", tag]);
        String::from_utf8_lossy(&out.stdout).trim().parse().expect("image size")
    }

    /// Runs `image` once (its entrypoint, plus `args`) with `host_dir` bind-mounted at `target`,
    /// as a DaemonSet's hostPath volume would be, and with deploy/'s securityContext for an
    /// installer: uid 0, no capabilities, no privilege escalation, a read-only root.
    pub fn run_with_host_dir(&self, image: &str, host_dir: &Path, target: &str, args: &[&str]) -> Output {
        let volume = format!("{}:{target}", host_dir.display());
        let mut all = vec!["run", "--rm", "--network", "none", "--user", "0:0"];
        all.extend(["--cap-drop=all", "--security-opt", "no-new-privileges", "--read-only"]);
        all.extend(ULIMITS);
        all.extend(["-v", &volume, image]);
        all.extend(args);
        self.command().args(&all).output().expect("run podman")
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        // vfs layers are plain directories; `system reset` also drops podman's own state files.
        let _ = self.command().args(["system", "reset", "--force"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
