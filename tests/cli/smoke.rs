use crate::support::Env;

#[test]
fn start_then_status_then_abort() {
    let env = Env::new();
    let repo = env.released_repo();
    repo.start("login-500").ok();
    assert_eq!(repo.branch(), "hotfix/login-500");
    assert_eq!(repo.head(), repo.rev("v1.1.0"));
    let status = repo.hotfix(&["status", "--json"]).ok().json();
    assert_eq!(status["hotfix"]["base_tag"], "v1.1.0");
    assert_eq!(status["hotfix"]["step"], "fix");
    repo.hotfix(&["abort"]).ok();
    assert_eq!(repo.branch(), "develop");
}
