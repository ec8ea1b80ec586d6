//! Autobahn|Testsuite test client ("fuzzingserver" mode): asks the suite how many cases
//! it has, runs each by echoing every message, then asks it to write its reports.
//!
//! `cargo run --release -p ferrosocket-core --example autobahn_client -- --url ws://127.0.0.1:9001 --agent ferrosocket`

mod common;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let url = common::arg("--url").unwrap_or_else(|| "ws://127.0.0.1:9001".into());
    let agent = common::arg("--agent").unwrap_or_else(|| "ferrosocket".into());
    let addr = url
        .strip_prefix("ws://")
        .expect("--url must be ws://host:port")
        .trim_end_matches('/')
        .to_string();

    let (mut s, conn, rest) = common::connect(&addr, "/getCaseCount").await?;
    let count: usize = common::read_text(&mut s, conn, rest)
        .await?
        .trim()
        .parse()
        .map_err(std::io::Error::other)?;
    println!("{count} cases");
    for case in 1..=count {
        let (mut s, conn, rest) =
            common::connect(&addr, &format!("/runCase?case={case}&agent={agent}")).await?;
        let echoed = common::echo(&mut s, conn, rest).await.unwrap_or(0);
        println!("case {case}/{count}: {echoed} messages echoed");
    }
    let (mut s, mut conn, rest) =
        common::connect(&addr, &format!("/updateReports?agent={agent}")).await?;
    conn.close(Some(1000), "").map_err(std::io::Error::other)?;
    let _ = common::echo(&mut s, conn, rest).await;
    println!("reports updated");
    Ok(())
}
