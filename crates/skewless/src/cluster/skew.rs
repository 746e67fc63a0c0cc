//! The version-skew rule of a highly available control plane, and the
//! steps an upgrade or a rollback takes to respect it.
//!
//! Kubernetes' version-skew policy for kube-apiserver: in an HA cluster the
//! newest and the oldest kube-apiserver instances must be within one minor
//! version. So an upgrade from 1.33 to 1.37 goes 1.33 → 1.34 → 1.35 → 1.36
//! → 1.37, every server replaced at each step before the next begins, and
//! a rollback goes back the same way, one minor at a time.
//!
//! Everything here is generic over the releases the catalog supports
//! ([`EmulatedVersion::supported`]).

use anyhow::{Context, bail};
use skewless_apimachinery::catalog::{EmulatedVersion, KubeVersion};

/// The rule, as error messages name it.
pub const RULE: &str = "version skew policy: the newest and oldest kube-apiserver instances of a highly available control plane must be within one minor version";

fn parse(v: &str) -> anyhow::Result<KubeVersion> {
    EmulatedVersion::parse(v)
        .map(EmulatedVersion::version)
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// How many minors apart two releases are (any major difference counts as
/// too many).
fn minors_apart(a: KubeVersion, b: KubeVersion) -> u32 {
    if a.major != b.major {
        return u32::MAX;
    }
    a.minor.abs_diff(b.minor)
}

/// Refuses servers whose versions (ID, version) break the rule, naming the
/// newest and oldest.
pub fn check(servers: &[(&str, &str)]) -> anyhow::Result<()> {
    let mut parsed = Vec::with_capacity(servers.len());
    for (id, v) in servers {
        parsed.push((*id, parse(v).with_context(|| format!("{id}'s version"))?));
    }
    let oldest = parsed.iter().min_by_key(|(_, v)| *v);
    let newest = parsed.iter().max_by_key(|(_, v)| *v);
    if let (Some((old_id, old)), Some((new_id, new))) = (oldest, newest)
        && minors_apart(*old, *new) > 1
    {
        bail!(
            "{new_id} at {new} and {old_id} at {old} are {} minor versions apart; {RULE}",
            new.minor.saturating_sub(old.minor)
        );
    }
    Ok(())
}

/// The versions an upgrade (or rollback) of servers at `current` to
/// `target` passes through, one minor at a time, ending at `target`; each
/// step replaces every server not yet at its version. Refuses when the
/// servers already break the rule, or when the supported releases leave a
/// gap the rule forbids jumping.
pub fn steps(current: &[&str], target: &str) -> anyhow::Result<Vec<String>> {
    let target_v = parse(target)?;
    let mut versions = Vec::with_capacity(current.len());
    for v in current {
        versions.push(parse(v)?);
    }
    let (Some(&oldest), Some(&newest)) = (versions.iter().min(), versions.iter().max()) else {
        return Ok(vec![target.to_owned()]);
    };
    if minors_apart(oldest, newest) > 1 {
        bail!(
            "the servers run {oldest} and {newest}, {} minor versions apart; {RULE}",
            newest.minor.saturating_sub(oldest.minor)
        );
    }
    let supported: Vec<KubeVersion> = EmulatedVersion::supported()
        .iter()
        .map(|v| v.version())
        .collect();
    let path: Vec<KubeVersion> = if target_v > oldest {
        supported
            .iter()
            .copied()
            .filter(|v| *v > oldest && *v <= target_v)
            .collect()
    } else if target_v < newest {
        supported
            .iter()
            .copied()
            .filter(|v| *v >= target_v && *v < newest)
            .rev()
            .collect()
    } else {
        vec![target_v]
    };
    // Each step must stay within one minor of where the servers are.
    let mut level = if target_v > oldest { oldest } else { newest };
    for step in &path {
        if minors_apart(level, *step) > 1 {
            bail!(
                "going from {level} to {step} would run both at once, {} minor versions apart, and no release in between is supported ({}); {RULE}",
                level.minor.abs_diff(step.minor),
                supported
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        level = *step;
    }
    Ok(path.iter().map(ToString::to_string).collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn supported() -> Vec<String> {
        EmulatedVersion::supported()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn upgrades_go_one_minor_at_a_time_through_every_supported_release() {
        let all = supported();
        let (oldest, newest) = (all[0].as_str(), all[all.len() - 1].as_str());
        assert_eq!(steps(&[oldest, oldest, oldest], newest).unwrap(), all[1..]);
        let mut back: Vec<String> = all[..all.len() - 1].to_vec();
        back.reverse();
        assert_eq!(steps(&[newest, newest], oldest).unwrap(), back);
        // A mixed cluster finishes the step it is in.
        assert_eq!(
            steps(&[oldest, all[1].as_str()], all[1].as_str()).unwrap(),
            [all[1].clone()]
        );
        assert_eq!(
            steps(&[oldest, all[1].as_str()], oldest).unwrap(),
            [oldest.to_owned()]
        );
        // Nothing to change: one step with nothing to replace.
        assert_eq!(steps(&[newest], newest).unwrap(), [newest.to_owned()]);
    }

    #[test]
    fn servers_two_minors_apart_are_refused_naming_the_rule() {
        let all = supported();
        check(&[("a", all[0].as_str()), ("b", all[1].as_str())]).unwrap();
        let e = check(&[("a", "1.36"), ("b", "1.36")]);
        assert!(e.is_ok());
        if all.len() >= 3 {
            let e = check(&[("a", all[0].as_str()), ("b", all[2].as_str())]).unwrap_err();
            assert!(e.to_string().contains("version skew policy"), "{e}");
            assert!(e.to_string().contains("2 minor versions apart"), "{e}");
            let e = steps(&[all[0].as_str(), all[2].as_str()], all[2].as_str()).unwrap_err();
            assert!(e.to_string().contains("version skew policy"), "{e}");
        }
        assert!(
            minors_apart(
                KubeVersion {
                    major: 1,
                    minor: 33
                },
                KubeVersion {
                    major: 1,
                    minor: 35
                }
            ) == 2
        );
    }
}
