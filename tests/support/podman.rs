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
//! [`Podman::build_index`] builds both platforms into one image index, as the README's
//! `podman build --platform linux/amd64,linux/arm64 --manifest …` does, and
//! [`Podman::index_files`] reads each platform's file back from the index written as an OCI
//! layout, exactly what a registry would receive.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where the Dockerfiles copy x86_64 binaries from, relative to the context (the repo root).
pub const RELEASE_DIR: &str = "target/x86_64-unknown-linux-musl/release";

/// One platform of the project's images: its OCI architecture, the cargo target its binaries are
/// built for (the Dockerfiles copy from `target/<triple>/release`, picked by `TARGETARCH`), and
/// their ELF `e_machine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Platform {
    pub arch: &'static str,
    pub triple: &'static str,
    pub elf_machine: u16,
}

/// x86_64: `EM_X86_64`.
pub const AMD64: Platform = Platform { arch: "amd64", triple: "x86_64-unknown-linux-musl", elf_machine: 62 };
/// aarch64 (Grace, ND GB200 v6): `EM_AARCH64`.
pub const ARM64: Platform = Platform { arch: "arm64", triple: "aarch64-unknown-linux-musl", elf_machine: 183 };

/// The ELF `e_machine` of `bytes` (little-endian ELF), or `None` when they are not ELF.
pub fn elf_machine(bytes: &[u8]) -> Option<u16> {
    if bytes.get(..4)? != b"\x7fELF" {
        return None;
    }
    Some(u16::from_le_bytes([*bytes.get(18)?, *bytes.get(19)?]))
}

/// The release binary `name` that `cargo build --release --target <platform's triple>` made in
/// this test run's target directory, or why it cannot be used (see [`crate::root::can_run`]).
pub fn release_binary(platform: Platform, name: &str) -> Result<PathBuf, String> {
    // This test program runs from target/<host triple>/<profile>/deps/.
    let exe = std::env::current_exe().map_err(|e| format!("test binary path: {e}"))?;
    let target = exe.ancestors().nth(4).ok_or("test binary outside target/<triple>/<profile>/deps")?;
    let binary = target.join(platform.triple).join("release").join(name);
    if binary.is_file() {
        Ok(binary)
    } else {
        Err(format!(
            "{} is not built (cargo build --release --target {}; tests/run-all.sh builds it)",
            binary.display(),
            platform.triple
        ))
    }
}

/// One platform's entry in an image index, with the file read from its layers.
#[derive(Debug)]
pub struct IndexEntry {
    pub arch: String,
    pub os: String,
    /// The file's bytes, or `None` when no layer holds it.
    pub file: Option<Vec<u8>>,
}
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

    /// Builds `dockerfile` (relative to the repo root) for linux/amd64 from a context holding the
    /// repo's `.dockerignore` and each `(built binary, file name)` at `RELEASE_DIR/<file name>`,
    /// plus junk that `.dockerignore` must keep out. Returns the image's tag.
    pub fn build_image(&self, dockerfile: &str, binaries: &[(&Path, &str)]) -> String {
        let binaries: Vec<_> = binaries.iter().map(|&(binary, name)| (AMD64, binary, name)).collect();
        let (context, tag) = self.context(&binaries);
        let dockerfile = repo_root().join(dockerfile);
        self.checked(&[
            "build",
            "--network",
            "none",
            "-q",
            "--platform",
            "linux/amd64",
            "-t",
            &tag,
            "-f",
            dockerfile.to_str().unwrap(),
            context.to_str().unwrap(),
        ]);
        tag
    }

    /// Builds `dockerfile` for every platform of `binaries` into one image index (a manifest
    /// list), as `podman build --platform linux/amd64,linux/arm64 --manifest <name>` does, from a
    /// context like [`Podman::build_image`]'s with each binary at its platform's release path.
    /// Returns the index's name.
    pub fn build_index(&self, dockerfile: &str, binaries: &[(Platform, &Path, &str)]) -> String {
        let (context, name) = self.context(binaries);
        let mut platforms: Vec<String> = binaries.iter().map(|(p, _, _)| format!("linux/{}", p.arch)).collect();
        platforms.dedup();
        let dockerfile = repo_root().join(dockerfile);
        self.checked(&[
            "build",
            "--network",
            "none",
            "-q",
            "--platform",
            &platforms.join(","),
            "--manifest",
            &name,
            "-f",
            dockerfile.to_str().unwrap(),
            context.to_str().unwrap(),
        ]);
        name
    }

    /// A fresh build context with `binaries` at their release paths, and a fresh image name.
    fn context(&self, binaries: &[(Platform, &Path, &str)]) -> (PathBuf, String) {
        let n = self.next.get();
        self.next.set(n + 1);
        let context = self.dir.join("context").join(n.to_string());
        std::fs::create_dir_all(context.join(RELEASE_DIR)).expect("context dir");
        std::fs::copy(repo_root().join(".dockerignore"), context.join(".dockerignore")).expect("copy .dockerignore");
        for (platform, binary, name) in binaries {
            let release = context.join("target").join(platform.triple).join("release");
            std::fs::create_dir_all(&release).expect("context dir");
            std::fs::copy(binary, release.join(name)).expect("copy binary into context");
        }
        // What a real repo root also holds: sources and other builds, which must stay out.
        std::fs::write(context.join("Cargo.toml"), "[workspace]\n").expect("junk");
        std::fs::write(context.join(RELEASE_DIR).join("junk.rlib"), vec![0u8; 1 << 20]).expect("junk");
        (context, format!("localhost/ipoib-test-{n}:latest"))
    }

    /// Writes the index `name` and all its images as an OCI layout (what `podman manifest push
    /// --all --format oci` sends a registry), then reads each entry's platform and `file` back
    /// from the layout's own JSON and layer tarballs.
    pub fn index_files(&self, name: &str, file: &str) -> Vec<IndexEntry> {
        let n = self.next.get();
        self.next.set(n + 1);
        let layout = self.dir.join(format!("oci-{n}"));
        let destination = format!("oci:{}:latest", layout.display());
        self.checked(&["manifest", "push", "--all", "--format", "oci", name, &destination]);
        let read_json = |path: PathBuf| -> serde_json::Value {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        };
        let blob = |digest: &serde_json::Value| {
            let digest = digest.as_str().expect("a digest");
            layout.join("blobs/sha256").join(digest.strip_prefix("sha256:").expect("a sha256 digest"))
        };
        let top = read_json(layout.join("index.json"));
        let index = &top["manifests"][0];
        assert_eq!(index["mediaType"], "application/vnd.oci.image.index.v1+json", "not an OCI image index: {top}");
        let index = read_json(blob(&index["digest"]));
        let mut entries = vec![];
        for (i, entry) in index["manifests"].as_array().expect("the index's manifests").iter().enumerate() {
            let manifest = read_json(blob(&entry["digest"]));
            let unpacked = layout.join(format!("unpacked-{i}"));
            std::fs::create_dir_all(&unpacked).expect("unpack dir");
            for layer in manifest["layers"].as_array().expect("layers") {
                // GNU tar detects the gzip of a compressed layer on its own.
                let out = Command::new("tar").arg("-xf").arg(blob(&layer["digest"])).arg("-C").arg(&unpacked).output();
                let out = out.expect("run tar");
                assert!(out.status.success(), "tar: {}", String::from_utf8_lossy(&out.stderr));
            }
            entries.push(IndexEntry {
                arch: entry["platform"]["architecture"].as_str().unwrap_or("").to_string(),
                os: entry["platform"]["os"].as_str().unwrap_or("").to_string(),
                file: std::fs::read(unpacked.join(file)).ok(),
            });
        }
        entries
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
