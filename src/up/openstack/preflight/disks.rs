//! Pre-flight's check of each flavor against the image and the root volume: what Nova (and,
//! for a volume, Cinder) would refuse only at server create or on the compute host, after
//! `up` made the groups, ports and floating IP. Pure; it must not call the cloud.

use super::Problem;
use crate::providers::openstack::nova::{Flavor, Image};
use crate::spec::RootVolume;

const GIB: u64 = 1 << 30;
const FIELD: &str = "cloud.openstack.servers.rootVolume";

/// The smallest disk in GiB the image boots from: its `min_disk`, and its file and virtual
/// sizes rounded up to whole GiB, as Cinder checks a volume made from it
/// (cinder/volume/volume_utils.py, `check_image_metadata`).
pub fn image_needs_gib(image: &Image) -> u64 {
    let gib = |bytes: Option<u64>| bytes.unwrap_or(0).div_ceil(GIB);
    image
        .min_disk
        .max(gib(image.size))
        .max(gib(image.virtual_size))
        .max(1)
}

/// Whether servers of `flavor` boot from `image`, on the flavor's disk or on `root`.
pub fn disk_problems(flavor: &Flavor, image: &Image, root: Option<&RootVolume>) -> Vec<Problem> {
    // An image without a name is known by its ID.
    let (f, i) = (&flavor.name, image.name.as_deref().unwrap_or(&image.id));
    let needed = image_needs_gib(image);
    let mut problems = Vec::new();
    if flavor.ram < image.min_ram {
        problems.push(Problem::new(
            format!(
                "flavor `{f}` has {} MiB of RAM; image `{i}` needs at least {} MiB (its min_ram)",
                flavor.ram, image.min_ram
            ),
            "pick a flavor with more RAM",
        ));
    }
    match root {
        // Nova checks a new volume against min_disk at create, Cinder against the sizes on
        // the host (nova/compute/api.py, `_validate_flavor_image_nostatus`).
        Some(volume) if u64::from(volume.size) < needed => problems.push(Problem::new(
            format!(
                "{FIELD}.size is {} GiB; image `{i}` needs at least {needed} GiB (its min_disk, or its size rounded up)",
                volume.size
            ),
            format!("set {FIELD}.size to {needed} or more"),
        )),
        Some(_) => {}
        // Only an admin may boot a zero-disk flavor from an image (policy
        // `os_compute_api:servers:create:zero_disk_flavor`, admin since Stein); everyone else
        // gets 403 "Only volume-backed servers are allowed for flavors with zero disk".
        None if flavor.disk == 0 => problems.push(Problem::new(
            format!("flavor `{f}` has no disk of its own (disk: 0): Nova boots servers on it only from a volume"),
            format!("set {FIELD}.size (GiB, {needed} or more for image `{i}`), or pick a flavor with a disk"),
        )),
        // Nova refuses a flavor disk under the image's size or min_disk.
        None if flavor.disk < needed => problems.push(Problem::new(
            format!(
                "flavor `{f}` has a {} GiB disk; image `{i}` needs at least {needed} GiB (its min_disk, or its size rounded up)",
                flavor.disk
            ),
            format!("pick a flavor with a larger disk, or boot from a volume: set {FIELD}.size to {needed} or more"),
        )),
        None => {}
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flavor(disk: u64) -> Flavor {
        Flavor {
            id: "f".into(),
            name: "m1.small".into(),
            vcpus: 1,
            ram: 2048,
            disk,
        }
    }

    fn image(min_disk: u64, size: u64) -> Image {
        Image {
            id: "i".into(),
            name: Some("ubuntu-24.04".into()),
            status: "active".into(),
            min_disk,
            min_ram: 0,
            size: Some(size),
            virtual_size: None,
        }
    }

    fn volume(size: u32) -> RootVolume {
        RootVolume {
            size,
            volume_type: None,
            availability_zone: None,
        }
    }

    fn whats(problems: Vec<Problem>) -> Vec<String> {
        problems.into_iter().map(|p| p.what).collect()
    }

    #[test]
    fn a_zero_disk_flavor_without_a_root_volume_is_a_problem_with_the_fix() {
        let p = disk_problems(&flavor(0), &image(0, 600 << 20), None);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(
            p[0].what,
            "flavor `m1.small` has no disk of its own (disk: 0): Nova boots servers on it only from a volume"
        );
        assert_eq!(
            p[0].hint,
            "set cloud.openstack.servers.rootVolume.size (GiB, 1 or more for image `ubuntu-24.04`), or pick a flavor with a disk"
        );
        assert!(disk_problems(&flavor(0), &image(0, 600 << 20), Some(&volume(1))).is_empty());
    }

    #[test]
    fn a_root_volume_below_min_disk_or_the_rounded_up_image_is_a_problem() {
        let below_min_disk = disk_problems(&flavor(0), &image(20, 1 << 30), Some(&volume(10)));
        assert_eq!(
            whats(below_min_disk),
            [
                "cloud.openstack.servers.rootVolume.size is 10 GiB; image `ubuntu-24.04` needs at least 20 GiB (its min_disk, or its size rounded up)"
            ]
        );
        // 2 GiB and one byte: Cinder rounds up to 3.
        let p = disk_problems(&flavor(0), &image(0, (2 << 30) + 1), Some(&volume(2)));
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(
            p[0].hint,
            "set cloud.openstack.servers.rootVolume.size to 3 or more"
        );
        assert!(disk_problems(&flavor(0), &image(0, (2 << 30) + 1), Some(&volume(3))).is_empty());
        let mut sparse = image(0, 1 << 30);
        sparse.virtual_size = Some(8 << 30);
        assert_eq!(image_needs_gib(&sparse), 8);
    }

    #[test]
    fn a_flavor_disk_below_min_disk_is_a_problem_unless_a_volume_replaces_it() {
        let p = disk_problems(&flavor(10), &image(20, 1 << 30), None);
        assert_eq!(
            whats(p),
            [
                "flavor `m1.small` has a 10 GiB disk; image `ubuntu-24.04` needs at least 20 GiB (its min_disk, or its size rounded up)"
            ]
        );
        assert!(disk_problems(&flavor(10), &image(20, 1 << 30), Some(&volume(20))).is_empty());
        assert!(disk_problems(&flavor(20), &image(20, 1 << 30), None).is_empty());
    }

    #[test]
    fn too_little_ram_for_the_image_is_a_problem_either_way() {
        let mut hungry = image(0, 1);
        hungry.min_ram = 4096;
        let p = disk_problems(&flavor(20), &hungry, Some(&volume(20)));
        assert_eq!(
            whats(p),
            [
                "flavor `m1.small` has 2048 MiB of RAM; image `ubuntu-24.04` needs at least 4096 MiB (its min_ram)"
            ]
        );
    }
}
