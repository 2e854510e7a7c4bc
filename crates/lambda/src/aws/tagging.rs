//! The Resource Groups Tagging API ([`crate::reconcile::ManagedClusters`]) over `aws-sdk-resourcegroupstagging`.

use crate::error::Error;
use crate::reconcile::{ManagedClusters, TaggedCluster};
use crate::run::TAG_MANAGED;

/// The Resource Groups Tagging API of one region over the SDK.
#[derive(Debug, Clone)]
pub struct SdkTagging {
    pub client: aws_sdk_resourcegroupstagging::Client,
}

impl ManagedClusters for SdkTagging {
    async fn managed_clusters(&self) -> Result<Vec<TaggedCluster>, Error> {
        use aws_sdk_resourcegroupstagging::types::TagFilter;
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .get_resources()
                .resource_type_filters("elasticmapreduce:cluster")
                .tag_filters(TagFilter::builder().key(TAG_MANAGED).values("true").build())
                .resources_per_page(100)
                .set_pagination_token(token.clone())
                .send()
                .await
                .map_err(|e| Error::from_sdk("GetResources", e))?;
            for r in page.resource_tag_mapping_list() {
                let Some(id) = r.resource_arn().and_then(|a| a.rsplit_once(":cluster/")) else {
                    continue;
                };
                out.push(TaggedCluster {
                    id: id.1.to_string(),
                    tags: r
                        .tags()
                        .iter()
                        .map(|t| (t.key().to_string(), t.value().to_string()))
                        .collect(),
                });
            }
            token = page
                .pagination_token()
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                return Ok(out);
            }
        }
    }
}
