use super::*;

fn aws_only() -> TrustedOrigins {
    TrustedOrigins::parse("").unwrap()
}

fn cert(o: &TrustedOrigins, url: &str) -> bool {
    o.check(url, UrlKind::SigningCert).is_ok()
}

#[test]
fn an_aws_sns_certificate_url_is_trusted() {
    let o = aws_only();
    assert!(cert(
        &o,
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem"
    ));
    assert!(cert(&o, "https://sns.us-gov-west-1.amazonaws.com/x.pem"));
    assert!(
        cert(&o, "https://SNS.EU-WEST-1.amazonaws.com:443/x.pem"),
        "case and the default port normalise"
    );
}

#[test]
fn look_alike_certificate_urls_are_refused() {
    let o = aws_only();
    for url in [
        "https://sns.us-east-1.amazonaws.com.evil.com/x.pem",
        "https://sns.us-east-1.amazonaws.com@evil.com/x.pem",
        "https://evil.com@sns.us-east-1.amazonaws.com/x.pem",
        "https://user:pw@sns.us-east-1.amazonaws.com/x.pem",
        "http://sns.us-east-1.amazonaws.com/x.pem",
        "https://sns.us-east-1.amazonaws.com:8443/x.pem",
        "https://sns.us-east-1.amazonaws.com/x.pem?y=1",
        "https://sns.us-east-1.amazonaws.com/x.txt",
        "https://sns.us-east-1.amazonaws.com/x.pem#frag",
        "https://sns.evil.amazonaws.com/x.pem",
        "https://sns..amazonaws.com/x.pem",
        "https://sns.us-east-1.amazonaws.com./x.pem",
        "https://evil.example/sns.eu-west-1.amazonaws.com/x.pem",
        "https://127.0.0.1/x.pem",
        "file:///etc/x.pem",
        "not a url",
    ] {
        assert!(!cert(&o, url), "{url}");
    }
}

#[test]
fn configured_origins_match_exactly_by_host_and_port() {
    let o =
        TrustedOrigins::parse("https://sns.example.net/certs/, http://127.0.0.1:9000/").unwrap();
    assert!(cert(&o, "https://sns.example.net/other/path.pem"));
    assert!(cert(&o, "http://127.0.0.1:9000/x.pem"));
    assert!(!cert(&o, "http://127.0.0.1:9001/x.pem"), "another port");
    assert!(!cert(&o, "https://127.0.0.1:9000/x.pem"), "another scheme");
    assert!(!cert(&o, "https://sns.example.net.evil.com/x.pem"));
    assert!(!cert(&o, "https://sns.example.net:444/x.pem"));
}

#[test]
fn configured_origins_are_https_except_on_loopback() {
    assert!(TrustedOrigins::parse("http://mirror.example/").is_err());
    assert!(TrustedOrigins::parse("https://u:p@mirror.example/").is_err());
    assert!(TrustedOrigins::parse("ftp://mirror.example/").is_err());
    assert!(TrustedOrigins::parse("http://localhost:1/").is_ok());
}

#[test]
fn a_subscribe_url_may_carry_a_query_but_not_leave_sns() {
    let o = aws_only();
    let ok = "https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&Token=t";
    assert!(o.check(ok, UrlKind::Subscribe).is_ok());
    let bad = "https://sns.eu-west-1.amazonaws.com.evil.com/?Action=ConfirmSubscription";
    assert!(matches!(
        o.check(bad, UrlKind::Subscribe),
        Err(SnsError::UntrustedSubscribeUrl(_))
    ));
}

#[test]
fn only_allow_listed_topics_are_admitted() {
    let arn = "arn:aws:sns:eu-west-1:123456789012:ses";
    let list = TopicAllowList::parse(&format!("{arn}, arn:aws:sns:us-east-1:1:other")).unwrap();
    assert_eq!(list.admit(arn).unwrap().as_str(), arn);
    assert!(matches!(
        list.admit("arn:aws:sns:eu-west-1:123456789012:ses2"),
        Err(SnsError::TopicNotAllowed)
    ));
    assert!(matches!(list.admit("ses"), Err(SnsError::InvalidTopicArn)));
}

#[test]
fn an_empty_topic_list_admits_nothing() {
    let list = TopicAllowList::parse(" ").unwrap();
    assert!(matches!(
        list.admit("arn:aws:sns:eu-west-1:1:ses"),
        Err(SnsError::NoTopics)
    ));
    assert!(TopicAllowList::parse("not-an-arn").is_err());
}
