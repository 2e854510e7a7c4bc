//! `dataflow-runner completions SHELL` prints a script generated from the parser itself: it offers every
//! command and flag the CLI takes, and bash and zsh accept it.

use std::process::Command;

fn completions(shell: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_dataflow-runner"))
        .args(["completions", shell])
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The commands `--help` lists, read from the binary rather than typed here.
fn commands() -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_dataflow-runner"))
        .arg("--help")
        .output()
        .expect("the binary runs");
    let help = String::from_utf8(out.stdout).expect("UTF-8");
    let listed = help
        .split("Commands:")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .expect("a Commands section");
    listed
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn every_shell_script_offers_every_command_and_the_run_flags() {
    let commands = commands();
    assert!(commands.len() >= 10, "{commands:?}");
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = completions(shell);
        for c in &commands {
            assert!(script.contains(c.as_str()), "{shell} lacks {c}");
        }
        for flag in ["emr-playbook", "softLock", "profile", "log-failed-steps"] {
            assert!(script.contains(flag), "{shell} lacks --{flag}");
        }
    }
}

#[test]
fn bash_and_zsh_parse_their_scripts() {
    for shell in ["bash", "zsh"] {
        let Ok(status) = Command::new(shell).arg("-c").arg("exit 0").status() else {
            // A machine without this shell cannot check its syntax; the test above still checks the content.
            eprintln!("{shell} not installed: syntax not checked");
            continue;
        };
        assert!(status.success());
        let path = std::env::temp_dir().join(format!("dataflow-runner-completion.{shell}"));
        std::fs::write(&path, completions(shell)).expect("written");
        let check = Command::new(shell)
            .arg("-n")
            .arg(&path)
            .status()
            .expect("runs");
        assert!(check.success(), "{shell} -n refuses the script");
    }
}
