//! The lock table's operations against a real DynamoDB implementation: moto's server (tests/statemachine/.venv, which
//! `npm run setup --prefix tests/statemachine` installs, or `MOTO_SERVER`), with the table created as
//! infra/template.yaml declares it. Without moto the tests are skipped with a message, unless `DFR_REQUIRE_MOTO=1`.
//!
//! Each test gets its own server. Calls are made one at a time: moto's threaded server does not apply a conditional
//! write atomically under concurrency the way DynamoDB does (the state-machine tests race 20 executions through a
//! proxy that restores that).

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration as StdDuration, Instant};

use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use chrono::{DateTime, Duration, Utc};
use dfr_locks::item::{self, KEY};
use dfr_locks::{
    Acquisition, Ended, Kind, LockError, LockName, LockTable, OperatorRelease, Outcome,
    OwnerStatus, State,
};
use emr_emulator::iam::{Iam, StackContext};
use serde_json::Value;

const TEMPLATE: &str = include_str!("../../../infra/template.yaml");

struct Moto {
    child: Child,
    url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto_server() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::env::var_os("MOTO_SERVER")
        .map(PathBuf::from)
        .into_iter()
        .chain([root.join("tests/statemachine/.venv/bin/moto_server")])
        .find(|p| p.exists())
}

fn start_moto() -> Option<Moto> {
    let required = std::env::var("DFR_REQUIRE_MOTO").is_ok_and(|v| v == "1");
    let Some(server) = moto_server() else {
        assert!(
            !required,
            "DFR_REQUIRE_MOTO=1 but moto_server is not installed: npm run setup --prefix tests/statemachine"
        );
        eprintln!("skipped: moto_server not installed (npm run setup --prefix tests/statemachine); set DFR_REQUIRE_MOTO=1 to require it");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(server)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("moto_server starts");
    let moto = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + StdDuration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto_server did not start within 30 s"
        );
        std::thread::sleep(StdDuration::from_millis(100));
    }
    Some(moto)
}

fn attr_type(t: &str) -> ScalarAttributeType {
    ScalarAttributeType::from(t)
}

fn keys(schema: &Value) -> Vec<KeySchemaElement> {
    schema
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(k["AttributeName"].as_str().unwrap())
                .key_type(KeyType::from(k["KeyType"].as_str().unwrap()))
                .build()
                .unwrap()
        })
        .collect()
}

fn client(moto: &Moto) -> aws_sdk_dynamodb::Client {
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .endpoint_url(&moto.url)
        .credentials_provider(Credentials::new("AKIDTEST", "secret", None, None, "test"))
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

/// A table named `name`, made as the template's `LockTable` is.
async fn table(moto: &Moto, name: &str) -> LockTable {
    let client = client(moto);
    let declared = Iam::resource_from_template(TEMPLATE, &StackContext::default(), "LockTable")
        .expect("the template declares LockTable");
    let p = &declared["Properties"];
    let mut create = client
        .create_table()
        .table_name(name)
        .billing_mode(p["BillingMode"].as_str().unwrap().into());
    for a in p["AttributeDefinitions"].as_array().unwrap() {
        create = create.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(a["AttributeName"].as_str().unwrap())
                .attribute_type(attr_type(a["AttributeType"].as_str().unwrap()))
                .build()
                .unwrap(),
        );
    }
    for k in keys(&p["KeySchema"]) {
        create = create.key_schema(k);
    }
    for g in p["GlobalSecondaryIndexes"].as_array().unwrap() {
        let projection = g["Projection"]["ProjectionType"].as_str().unwrap();
        create = create.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(g["IndexName"].as_str().unwrap())
                .set_key_schema(Some(keys(&g["KeySchema"])))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(projection))
                        .build(),
                )
                .build()
                .unwrap(),
        );
    }
    create.send().await.expect("CreateTable");
    let ttl = &p["TimeToLiveSpecification"];
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(ttl["AttributeName"].as_str().unwrap())
                .enabled(ttl["Enabled"].as_bool().unwrap())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("UpdateTimeToLive");
    LockTable::new(client, name)
}

fn arn(name: &str) -> String {
    format!("arn:aws:states:eu-west-1:123456789012:execution:dfr-run-transient:{name}")
}

fn t0() -> DateTime<Utc> {
    "2026-11-25T03:00:00Z".parse().unwrap()
}

fn lock() -> LockName {
    LockName::new("snowplow/enrich").unwrap()
}

const LEASE: i64 = 1_299_600;

async fn acquire(t: &LockTable, kind: Kind, owner: &str, now: DateTime<Utc>) -> Acquisition {
    t.acquire(&lock(), kind, &arn(owner), Duration::seconds(LEASE), now)
        .await
        .unwrap()
}

#[tokio::test]
async fn when_twenty_runs_ask_for_a_free_lock_should_give_it_to_exactly_one() {
    let Some(moto) = start_moto() else { return };
    let t = table(&moto, "race").await;
    let mut acquired = Vec::new();
    for i in 0..20 {
        match acquire(&t, Kind::Hard, &format!("nightly-{i}"), t0()).await {
            Acquisition::Acquired { record, .. } => acquired.push(record.owner),
            Acquisition::Held { holder } => assert_eq!(holder.owner, arn("nightly-0")),
        }
    }
    assert_eq!(acquired, [arn("nightly-0")]);
    assert_eq!(t.locks_of(&arn("nightly-0")).await.unwrap(), [lock()]);
    assert!(t.locks_of(&arn("nightly-1")).await.unwrap().is_empty());
}

#[tokio::test]
async fn when_the_owner_acquires_again_should_get_its_own_lock_with_a_new_lease() {
    let Some(moto) = start_moto() else { return };
    let t = table(&moto, "again").await;
    acquire(&t, Kind::Soft, "nightly-1", t0()).await;
    let later = t0() + Duration::hours(2);
    match acquire(&t, Kind::Soft, "nightly-1", later).await {
        Acquisition::Acquired {
            record,
            already_held,
            took_over,
        } => {
            assert!(already_held);
            assert_eq!(took_over, None);
            assert_eq!(record.acquired_at, t0(), "held since the first acquire");
            assert_eq!(
                record.lease_expires_at,
                Some(later + Duration::seconds(LEASE))
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn when_a_run_ends_should_release_a_soft_lock_and_keep_a_hard_one_after_a_failure() {
    let Some(moto) = start_moto() else { return };
    let t = table(&moto, "ends").await;
    let failed = Outcome::failed("StepFailed", Some("{\"clusterId\":\"j-1\"}".into()));
    let now = t0() + Duration::hours(1);

    acquire(&t, Kind::Soft, "soft", t0()).await;
    let ended = t
        .end(&lock(), &arn("soft"), &failed, "run", now)
        .await
        .unwrap();
    assert!(matches!(ended, Ended::Released { .. }), "{ended:?}");
    assert!(matches!(
        t.end(&lock(), &arn("soft"), &failed, "cleanup", now)
            .await
            .unwrap(),
        Ended::NotOwned { .. }
    ));

    acquire(&t, Kind::Hard, "hard", now).await;
    let kept = t
        .end(&lock(), &arn("hard"), &failed, "run", now)
        .await
        .unwrap();
    let Ended::Kept { record } = kept else {
        panic!("{kept:?}")
    };
    assert_eq!(record.state, State::Failed);
    assert_eq!(record.failure.as_ref().unwrap().error, "StepFailed");
    // The stack's rule reports the same end later, with less to say: the first failure stays.
    let aborted = Outcome::failed("FAILED", None);
    let again = t
        .end(&lock(), &arn("hard"), &aborted, "cleanup", now)
        .await
        .unwrap();
    let Ended::Kept { record } = again else {
        panic!("{again:?}")
    };
    assert_eq!(record.failure.unwrap().error, "StepFailed");
    // Nobody gets a kept hard lock, however late.
    let much_later = now + Duration::days(400);
    let held = acquire(&t, Kind::Hard, "next", much_later).await;
    assert!(matches!(held, Acquisition::Held { holder } if holder.state == State::Failed));
    // Its owner, redriven to success, releases it.
    let redriven = t
        .end(
            &lock(),
            &arn("hard"),
            &Outcome::Succeeded,
            "run",
            much_later,
        )
        .await
        .unwrap();
    assert!(matches!(redriven, Ended::Released { .. }), "{redriven:?}");
    assert!(matches!(
        acquire(&t, Kind::Hard, "next", much_later).await,
        Acquisition::Acquired { .. }
    ));
}

#[tokio::test]
async fn when_the_lease_has_ended_should_let_the_next_run_take_the_lock_over() {
    let Some(moto) = start_moto() else { return };
    let t = table(&moto, "stale").await;
    acquire(&t, Kind::Soft, "gone", t0()).await;
    let lease_end = t0() + Duration::seconds(LEASE);
    assert!(matches!(
        acquire(&t, Kind::Soft, "next", lease_end).await,
        Acquisition::Held { .. }
    ));
    let after = lease_end + Duration::seconds(1);
    let Acquisition::Acquired {
        record, took_over, ..
    } = acquire(&t, Kind::Soft, "next", after).await
    else {
        panic!("not taken over")
    };
    assert_eq!(took_over.unwrap().owner, arn("gone"));
    assert_eq!(record.took_over_from.as_deref(), Some(arn("gone").as_str()));
    assert_eq!(t.show(&lock()).await.unwrap().unwrap(), record);
    // The owner that was gone comes back: the lock is not its own any more.
    assert!(matches!(
        t.end(&lock(), &arn("gone"), &Outcome::Succeeded, "run", after)
            .await
            .unwrap(),
        Ended::NotOwned { .. }
    ));
}

#[tokio::test]
async fn when_an_operator_releases_a_lock_should_refuse_while_its_owner_runs_unless_forced() {
    let Some(moto) = start_moto() else { return };
    let t = table(&moto, "operator").await;
    let now = t0() + Duration::hours(1);
    acquire(&t, Kind::Hard, "running", t0()).await;
    let running = |_: String| async { OwnerStatus::Running };
    let e = t
        .release(&lock(), false, "ops", running, now)
        .await
        .unwrap_err();
    assert!(matches!(e, LockError::Refused(_)), "{e}");
    assert!(e.to_string().contains("still running"), "{e}");
    let unknown = |_: String| async { OwnerStatus::Unknown };
    let e = t
        .release(&lock(), false, "ops", unknown, now)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("lease"), "{e}");
    let asked = std::sync::Mutex::new(None);
    let ended = |owner: String| {
        *asked.lock().unwrap() = Some(owner);
        async { OwnerStatus::Ended("FAILED".into()) }
    };
    let released = t.release(&lock(), false, "ops", ended, now).await.unwrap();
    assert_eq!(
        asked.lock().unwrap().as_deref(),
        Some(arn("running").as_str())
    );
    let OperatorRelease::Released { before, after } = released else {
        panic!()
    };
    assert_eq!(before.state, State::Held);
    assert_eq!(after.state, State::Released);
    assert_eq!(after.release.as_ref().unwrap().by, "ops");
    assert!(matches!(
        t.release(&lock(), false, "ops", unknown, now)
            .await
            .unwrap(),
        OperatorRelease::NotHeld { current: Some(_) }
    ));

    acquire(&t, Kind::Hard, "forced", now).await;
    let forced = t.release(&lock(), true, "ops", running, now).await.unwrap();
    assert!(matches!(forced, OperatorRelease::Released { .. }));
}

#[tokio::test]
async fn when_the_lock_changes_while_an_operator_releases_it_should_say_so_and_change_nothing() {
    let Some(moto) = start_moto() else { return };
    let t = table(&moto, "changed").await;
    let now = t0() + Duration::hours(1);
    acquire(&t, Kind::Soft, "first", t0()).await;
    let other = t.clone();
    // While the operator looks the owner up, the owner ends and another run takes the lock.
    let racing = |owner: String| async move {
        other
            .end(&lock(), &owner, &Outcome::Succeeded, "run", now)
            .await
            .unwrap();
        other
            .acquire(
                &lock(),
                Kind::Soft,
                &arn("second"),
                Duration::seconds(LEASE),
                now,
            )
            .await
            .unwrap();
        OwnerStatus::Ended("SUCCEEDED".into())
    };
    let e = t
        .release(&lock(), false, "ops", racing, now)
        .await
        .unwrap_err();
    assert!(matches!(e, LockError::Changed(_)), "{e}");
    let current = t.show(&lock()).await.unwrap().unwrap();
    assert_eq!((current.owner, current.state), (arn("second"), State::Held));
}

#[tokio::test]
async fn when_locks_are_listed_should_show_every_record_by_name_and_name_a_foreign_item() {
    let Some(moto) = start_moto() else { return };
    let t = table(&moto, "list").await;
    for name in ["b/second", "a/first"] {
        t.acquire(
            &LockName::new(name).unwrap(),
            Kind::Soft,
            &arn(name.replace('/', "-").as_str()),
            Duration::seconds(60),
            t0(),
        )
        .await
        .unwrap();
    }
    let names: Vec<String> = t
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.name.to_string())
        .collect();
    assert_eq!(names, ["a/first", "b/second"]);
    assert_eq!(t.show(&LockName::new("c").unwrap()).await.unwrap(), None);

    // An item someone wrote by hand, in another layout.
    client(&moto)
        .put_item()
        .table_name("list")
        .item(KEY, aws_sdk_dynamodb::types::AttributeValue::S("z".into()))
        .item(
            item::STATE,
            aws_sdk_dynamodb::types::AttributeValue::S("locked".into()),
        )
        .send()
        .await
        .unwrap();
    let e = t.list().await.unwrap_err();
    assert!(matches!(e, LockError::Corrupt(_)), "{e}");
    assert!(e.to_string().contains("\"z\""), "{e}");
}
