//! EC2's Query protocol, for the EC2 operation served beside EMR (DescribeSpotPriceHistory): a form-encoded `POST /`
//! (`Action=…&Version=2016-11-15&…`) answered in XML.

use serde_json::Value;

/// The API version the SDKs send and the answers' namespace names.
pub const VERSION: &str = "2016-11-15";

/// The parameters of a form-encoded body, decoded, in order.
pub fn form(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Percent-decoding of a form value (`+` is a space).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The value of parameter `name`, if given.
pub fn param<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The members of a list parameter (`InstanceType.1`, `InstanceType.2`, …), in index order.
pub fn list(form: &[(String, String)], prefix: &str) -> Vec<String> {
    let mut members: Vec<(u32, String)> = form
        .iter()
        .filter_map(|(k, v)| {
            let n = k.strip_prefix(prefix)?.strip_prefix('.')?.parse().ok()?;
            Some((n, v.clone()))
        })
        .collect();
    members.sort_by_key(|(n, _)| *n);
    members.into_iter().map(|(_, v)| v).collect()
}

/// The `Filter.N.Name` / `Filter.N.Value.M` pairs, in index order.
pub fn filters(form: &[(String, String)]) -> Vec<(String, Vec<String>)> {
    let mut indexes: Vec<u32> = form
        .iter()
        .filter_map(|(k, _)| {
            let rest = k.strip_prefix("Filter.")?;
            rest.strip_suffix(".Name")?.parse().ok()
        })
        .collect();
    indexes.sort_unstable();
    indexes
        .into_iter()
        .map(|n| {
            let name = param(form, &format!("Filter.{n}.Name")).unwrap_or_default();
            (name.to_string(), list(form, &format!("Filter.{n}.Value")))
        })
        .collect()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `value` as the element `name`: an object's members as child elements in order, a list's members as `<item>`s.
fn element(out: &mut String, name: &str, value: &Value) {
    match value {
        Value::Null => return,
        Value::Object(members) => {
            out.push_str(&format!("<{name}>"));
            for (k, v) in members {
                element(out, k, v);
            }
        }
        Value::Array(items) => {
            out.push_str(&format!("<{name}>"));
            for item in items {
                element(out, "item", item);
            }
        }
        Value::String(s) => out.push_str(&format!("<{name}>{}", escape(s))),
        other => out.push_str(&format!("<{name}>{other}")),
    }
    out.push_str(&format!("</{name}>"));
}

/// The answer to `op`: `<{op}Response>` with the request id and `result`'s members.
pub fn response(op: &str, result: &Value, request_id: &str) -> String {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{op}Response xmlns=\"http://ec2.amazonaws.com/doc/{VERSION}/\"><requestId>{request_id}</requestId>"
    );
    if let Value::Object(members) = result {
        for (k, v) in members {
            element(&mut out, k, v);
        }
    }
    out.push_str(&format!("</{op}Response>"));
    out
}

/// An error answer, as EC2 gives one.
pub fn error(code: &str, message: &str, request_id: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{}</Code><Message>{}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>",
        escape(code),
        escape(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn when_decoding_a_form_should_read_lists_and_filters_in_index_order() {
        let body = b"Action=DescribeSpotPriceHistory&Version=2016-11-15&InstanceType.2=r5.2xlarge&InstanceType.1=m5.xlarge\
&ProductDescription.1=Linux%2FUNIX&Filter.1.Name=availability-zone&Filter.1.Value.1=eu-west-1a&StartTime=2023-11-14T22%3A13%3A20Z&x=a+b%";
        let f = form(body);
        assert_eq!(param(&f, "Action"), Some("DescribeSpotPriceHistory"));
        assert_eq!(list(&f, "InstanceType"), ["m5.xlarge", "r5.2xlarge"]);
        assert_eq!(list(&f, "ProductDescription"), ["Linux/UNIX"]);
        assert_eq!(
            filters(&f),
            [(
                "availability-zone".to_string(),
                vec!["eu-west-1a".to_string()]
            )]
        );
        assert_eq!(param(&f, "StartTime"), Some("2023-11-14T22:13:20Z"));
        assert_eq!(param(&f, "x"), Some("a b%"));
    }

    #[test]
    fn when_rendering_an_answer_should_wrap_list_members_in_items() {
        let xml = response(
            "DescribeSpotPriceHistory",
            &json!({"spotPriceHistorySet": [{"instanceType": "m5.xlarge", "spotPrice": "0.1"}], "nextToken": null}),
            "r-1",
        );
        assert!(xml.ends_with("<DescribeSpotPriceHistoryResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r-1</requestId><spotPriceHistorySet><item><instanceType>m5.xlarge</instanceType><spotPrice>0.1</spotPrice></item></spotPriceHistorySet></DescribeSpotPriceHistoryResponse>"), "{xml}");
        assert!(
            error("A<B", "x & y", "r").contains("<Code>A&lt;B</Code><Message>x &amp; y</Message>")
        );
    }
}
