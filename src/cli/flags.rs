//! A small command-line flag reader: `--flag value` and `--switch`, each command
//! declaring the flags it takes (anything else is an error), with typed accessors that
//! name the flag in their errors.

use super::CliError;
use std::collections::HashMap;

/// Switches: flags without a value.
const SWITCHES: [&str; 4] = ["--standardize", "--loo", "--help", "-h"];

/// Parsed flags of one command.
#[derive(Debug, Default)]
pub struct Flags {
    values: HashMap<String, Vec<String>>,
}

impl Flags {
    /// Parse `args` against the groups of `allowed` flags (switches are always allowed).
    pub fn parse(args: &[String], allowed: &[&[&str]]) -> Result<Self, CliError> {
        let mut values: HashMap<String, Vec<String>> = HashMap::new();
        let mut it = args.iter();
        while let Some(flag) = it.next() {
            let name = if flag == "-h" { "--help" } else { flag.as_str() };
            if SWITCHES.contains(&name) {
                values.entry(name.into()).or_default().push(String::new());
            } else if allowed.iter().any(|group| group.contains(&name)) {
                let v = it.next().ok_or_else(|| CliError::Usage(format!("{name} needs a value")))?;
                values.entry(name.into()).or_default().push(v.clone());
            } else {
                return Err(CliError::Usage(format!("unknown option \"{flag}\"")));
            }
        }
        Ok(Self { values })
    }

    /// Whether a switch is present.
    pub fn switch(&self, name: &str) -> bool {
        self.values.contains_key(name)
    }

    /// The last value of a flag.
    pub fn string(&self, name: &str) -> Option<String> {
        self.values.get(name).and_then(|v| v.last().cloned())
    }

    /// Every value of a repeatable flag.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.values.get(name).cloned().unwrap_or_default()
    }

    /// A flag that must be given.
    pub fn required(&self, name: &str) -> Result<String, CliError> {
        self.string(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| CliError::Usage(format!("{name} is required")))
    }

    /// A finite number, or `default` when absent.
    pub fn f64(&self, name: &str, default: f64) -> Result<f64, CliError> {
        match self.string(name) {
            None => Ok(default),
            Some(v) => match v.parse::<f64>() {
                Ok(x) if x.is_finite() => Ok(x),
                _ => Err(CliError::Usage(format!("{name}: \"{v}\" is not a finite number"))),
            },
        }
    }

    /// A non-negative whole number, or `default` when absent.
    pub fn usize(&self, name: &str, default: usize) -> Result<usize, CliError> {
        match self.string(name) {
            None => Ok(default),
            Some(v) => {
                v.parse().map_err(|_| CliError::Usage(format!("{name}: \"{v}\" is not a whole number ≥ 0")))
            }
        }
    }

    /// A seed (u64), or `default` when absent.
    pub fn seed(&self, name: &str, default: u64) -> Result<u64, CliError> {
        match self.string(name) {
            None => Ok(default),
            Some(v) => {
                v.parse().map_err(|_| CliError::Usage(format!("{name}: \"{v}\" is not a seed (0 or more)")))
            }
        }
    }
}
