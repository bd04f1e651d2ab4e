//! The memory room left under this process's own cgroups.
//!
//! A container, a systemd unit (`MemoryMax=`), a Slurm job or a Kubernetes
//! pod without a cgroup namespace all put the process in a cgroup *below*
//! the root of the cgroup file system, so the files at the mount point
//! describe the whole machine, not the limit the kernel will enforce. The
//! process's cgroup is named in `/proc/self/cgroup`; the file system it
//! lives in, and which part of the hierarchy that mount shows, in
//! `/proc/self/mountinfo`. Every ancestor's limit applies too, so the room
//! is the smallest `limit − usage` from the process's cgroup up to the
//! mount's root, for cgroup v2 (`memory.max`, `memory.current`) and v1
//! (`memory.limit_in_bytes`, `memory.usage_in_bytes`).

use std::path::{Path, PathBuf};

/// Room under the process's cgroup memory limits, if any limit is set.
pub fn cgroup_room() -> Option<u64> {
    let cgroup = std::fs::read_to_string("/proc/self/cgroup").ok()?;
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    room_in(&memory_cgroup_dirs(&cgroup, &mountinfo))
}

/// Which cgroup version a directory belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Version {
    V1,
    V2,
}

/// The directories of the process's memory cgroup, from its own up to the
/// root of the mount that shows it.
fn memory_cgroup_dirs(proc_cgroup: &str, mountinfo: &str) -> Vec<(PathBuf, Version)> {
    let mut out = Vec::new();
    for line in proc_cgroup.lines() {
        // "hierarchy-id:controllers:path"; v2 is "0::path".
        let mut parts = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let version = if id == "0" && controllers.is_empty() {
            Version::V2
        } else if controllers.split(',').any(|c| c == "memory") {
            Version::V1
        } else {
            continue;
        };
        let Some((root, mount_point)) = mount_of(mountinfo, version) else { continue };
        // The mount shows the hierarchy from `root` down; the cgroup's path is
        // relative to the hierarchy's root (or already to `root` inside a
        // cgroup namespace, where both are "/").
        let relative = Path::new(path).strip_prefix(&root).unwrap_or(Path::new(path));
        let relative = relative.strip_prefix("/").unwrap_or(relative);
        let mut dir = mount_point.join(relative);
        loop {
            out.push((dir.clone(), version));
            if dir == mount_point || !dir.pop() || !dir.starts_with(&mount_point) {
                break;
            }
        }
    }
    out
}

/// (root, mount point) of the cgroup2 mount, or of the v1 memory controller.
fn mount_of(mountinfo: &str, version: Version) -> Option<(PathBuf, PathBuf)> {
    mountinfo.lines().find_map(|line| {
        // "id parent major:minor root mount-point options [optional...] - fstype source super-options"
        let (left, right) = line.split_once(" - ")?;
        let fields: Vec<&str> = left.split(' ').collect();
        let mut right = right.split(' ');
        let fstype = right.next()?;
        let super_options = right.nth(1).unwrap_or("");
        let wanted = match version {
            Version::V2 => fstype == "cgroup2",
            Version::V1 => fstype == "cgroup" && super_options.split(',').any(|o| o == "memory"),
        };
        if !wanted {
            return None;
        }
        Some((PathBuf::from(unescape(fields.get(3)?)), PathBuf::from(unescape(fields.get(4)?))))
    })
}

/// mountinfo escapes spaces and a few other bytes as `\NNN` (octal).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The smallest room under any limit set in `dirs`.
fn room_in(dirs: &[(PathBuf, Version)]) -> Option<u64> {
    let read = |p: PathBuf| std::fs::read_to_string(p).ok().and_then(|s| s.trim().parse::<u64>().ok());
    dirs.iter()
        .filter_map(|(dir, version)| {
            let (limit, usage) = match version {
                // "max" (no limit) does not parse.
                Version::V2 => (read(dir.join("memory.max"))?, read(dir.join("memory.current"))),
                Version::V1 => (read(dir.join("memory.limit_in_bytes"))?, read(dir.join("memory.usage_in_bytes"))),
            };
            // v1 reports "no limit" as a huge number.
            (limit < 1 << 60).then(|| limit.saturating_sub(usage.unwrap_or(0)))
        })
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1_MOUNTS: &str = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
        32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n\
        35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n\
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

    #[test]
    fn v1_walks_from_the_process_cgroup_to_the_mount() {
        let cgroup = "4:memory:/jobs/42\n1:cpu:/\n0::/\n";
        let dirs = memory_cgroup_dirs(cgroup, V1_MOUNTS);
        let v1: Vec<_> = dirs.iter().filter(|d| d.1 == Version::V1).map(|d| d.0.clone()).collect();
        assert_eq!(
            v1,
            vec![
                PathBuf::from("/sys/fs/cgroup/memory/jobs/42"),
                PathBuf::from("/sys/fs/cgroup/memory/jobs"),
                PathBuf::from("/sys/fs/cgroup/memory"),
            ]
        );
    }

    #[test]
    fn v2_inside_a_namespace_or_a_bind_mounted_subtree() {
        let mounts = "29 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        let dirs = memory_cgroup_dirs("0::/system.slice/etl.service\n", mounts);
        assert_eq!(dirs[0], (PathBuf::from("/sys/fs/cgroup/system.slice/etl.service"), Version::V2));
        assert_eq!(dirs.last().unwrap().0, PathBuf::from("/sys/fs/cgroup"));
        // A container that sees only its own subtree mounted at /sys/fs/cgroup.
        let mounts = "29 23 0:26 /kubepods/pod1 /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
        let dirs = memory_cgroup_dirs("0::/kubepods/pod1/c1\n", mounts);
        assert_eq!(dirs[0].0, PathBuf::from("/sys/fs/cgroup/c1"));
        assert_eq!(dirs.len(), 2);
    }

    #[test]
    fn the_tightest_ancestor_limit_wins() {
        let root = tempfile::tempdir().unwrap();
        let write = |rel: &str, text: &str| {
            let p = root.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        write("memory.max", "max\n");
        write("slice/memory.max", "1000000\n");
        write("slice/memory.current", "400000\n");
        write("slice/job/memory.max", "max\n");
        write("slice/job/memory.current", "100000\n");
        let dirs: Vec<_> = ["slice/job", "slice", ""].iter().map(|d| (root.path().join(d), Version::V2)).collect();
        assert_eq!(room_in(&dirs), Some(600_000));
        write("slice/job/memory.max", "300000\n");
        assert_eq!(room_in(&dirs), Some(200_000));
        // v1's "no limit" is a huge number.
        write("v1/memory.limit_in_bytes", "9223372036854771712\n");
        assert_eq!(room_in(&[(root.path().join("v1"), Version::V1)]), None);
    }

    #[test]
    fn mount_points_with_spaces_are_unescaped() {
        assert_eq!(unescape("/mnt/my\\040cgroups"), "/mnt/my cgroups");
    }
}
