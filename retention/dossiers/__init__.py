"""The dossier year (hồ sơ, issue #18), as a folder of its steps: the yearly list (`yearly_list`),
its approval (`approval`), filing (`filing`; at upload it is `archive.filing`), closing (`closing`)
and handing over to the school's archive (`handover`). `papers` draws their documents, `common`
holds who may act and the legal facts kept as data."""
