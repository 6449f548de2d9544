"""The analysts' views as they were before issue 14 made them set-wise: the reference the views must equal.

They ran a subquery per notice and column over ``matches`` and computed every notice's title translation and party
flags before joining the few they needed (8-45 s per README query at a million notices). tests/test_analyst_queries.py
runs each beside the view of the same name on the demo night's snapshot and on a copy with the rows the demo lacks:
same rows, same columns, same types.
"""

# A notice's English title: its title segment translated; the glossary's exact wording before machine translation.
_TITLES_EN = """
    SELECT s.source, s.notice_id, t.text AS title_en
    FROM notice_segments s JOIN translations t ON t.segment_hash = s.segment_hash AND t.target_lang = 'en'
    WHERE s.field = 'title'
    QUALIFY row_number() OVER (
        PARTITION BY s.source, s.notice_id ORDER BY t.engine = 'glossary' DESC, t.translated_at DESC) = 1
"""

# Per notice: the buyer's listing (or the party whose name it carries) and the listed suppliers.
_PARTY_FLAGS = """
    SELECT source, notice_id,
           any_value(party_name_en) FILTER (WHERE role = 'buyer' AND party_id IS NOT NULL) AS buyer_party_en,
           any_value(list_name) FILTER (WHERE role = 'buyer' AND listed) AS buyer_list,
           any_value(relation) FILTER (WHERE role = 'buyer' AND party_id IS NOT NULL) AS buyer_relation,
           bool_or(military) FILTER (WHERE role = 'buyer') AS buyer_military,
           list(DISTINCT party_name_en) FILTER (WHERE role = 'supplier' AND listed) AS suppliers_listed
    FROM notice_parties GROUP BY source, notice_id
"""

_VIEWS = {
    "matched_notices": (
        """
        WITH base AS (
            SELECT r.tier, r.score, r.categories, n.published_at, n.published_date, n.title, te.title_en,
                   n.notice_type_en, n.buyer, n.suppliers, n.budget_cny, n.award_cny, n.region, n.url, n.source,
                   n.notice_id, n.ocid,
                   -- hit_no added: the order among equal scores was whatever the plan gave, now hit order.
                   (SELECT list(m.evidence ORDER BY m.score DESC, m.hit_no) FROM matches m
                     WHERE m.source = n.source AND m.notice_id = n.notice_id) AS evidence,
                   (SELECT list_sort(list(DISTINCT m.model) FILTER (WHERE m.model IS NOT NULL)) FROM matches m
                     WHERE m.source = n.source AND m.notice_id = n.notice_id) AS models,
                   (SELECT list_sort(list(DISTINCT m.provider) FILTER (WHERE m.provider IS NOT NULL)) FROM matches m
                     WHERE m.source = n.source AND m.notice_id = n.notice_id) AS providers,
                   (SELECT bool_or(m.after_restriction) FROM matches m
                     WHERE m.source = n.source AND m.notice_id = n.notice_id
                       AND m.tier IN ('strong', 'review')) AS after_restriction,
                   p.buyer_party_en, p.buyer_list, p.buyer_relation, coalesce(p.buyer_military, false)
                       AS buyer_military, coalesce(p.suppliers_listed, []) AS suppliers_listed,
                   (SELECT list(w.name_en ORDER BY w.name_en) FROM supplier_watchlist w
                     WHERE len([s FOR s IN coalesce(n.suppliers, []) IF contains(s.name, w.name_zh)]) > 0)
                       AS watched_suppliers
            FROM match_results r JOIN notices n USING (source, notice_id)
            LEFT JOIN ({_TITLES_EN}) te ON te.source = n.source AND te.notice_id = n.notice_id
            LEFT JOIN ({_PARTY_FLAGS}) p ON p.source = n.source AND p.notice_id = n.notice_id
            WHERE r.tier IN ('strong', 'review')
        )
        SELECT b.*,
               (SELECT arg_max(CASE WHEN b.buyer_list IS NOT NULL OR b.buyer_military
                                    THEN m.licence_policy_listed ELSE m.licence_policy END, m.score)
                  FROM matches m
                 WHERE m.source = b.source AND m.notice_id = b.notice_id AND m.licence_policy IS NOT NULL
                   AND m.tier IN ('strong', 'review')) AS licence_statement,
               CASE
                   WHEN coalesce(b.after_restriction, false) AND (b.buyer_list IS NOT NULL OR b.buyer_military)
                       THEN 1
                   WHEN len(b.suppliers_listed) > 0 OR b.watched_suppliers IS NOT NULL THEN 2
                   ELSE 3
               END AS priority
        FROM base b
        """.replace("{_TITLES_EN}", _TITLES_EN).replace("{_PARTY_FLAGS}", _PARTY_FLAGS),
    ),
    "listed_party_purchases": (
        """
        SELECT mn.priority, mn.tier, mn.categories, mn.published_date, np.role, np.name AS party_name,
               np.party_name_en, np.list_name, np.relation, np.military, mn.models, mn.licence_statement,
               coalesce(mn.award_cny, mn.budget_cny) AS amount_cny,
               CASE WHEN mn.award_cny IS NOT NULL THEN 'award' WHEN mn.budget_cny IS NOT NULL THEN 'budget' END
                   AS amount_kind,
               mn.title, mn.title_en, mn.url, mn.source, mn.notice_id, mn.ocid
        FROM matched_notices mn
        JOIN notice_parties np USING (source, notice_id)
        WHERE np.listed OR (np.military AND np.role = 'buyer')
        """,
    ),
    "procurement_processes": (
        """
        WITH linked AS (
            SELECT n.*, te.title_en FROM notices n
            LEFT JOIN ({_TITLES_EN}) te ON te.source = n.source AND te.notice_id = n.notice_id
            WHERE n.ocid IS NOT NULL
        ), processes AS (
            SELECT ocid,
                   arg_min(project_code, published_at) AS project_code,
                   arg_min(source, published_at) AS source,
                   arg_max(buyer, published_at) FILTER (WHERE buyer IS NOT NULL) AS buyer,
                   arg_max(agency, published_at) FILTER (WHERE agency IS NOT NULL) AS agency,
                   arg_min(title, published_at) AS process_title,
                   arg_min(title_en, published_at) AS process_title_en,
                   count(*) AS notice_count,
                   min(published_at) AS first_notice_at,
                   max(published_at) AS latest_notice_at,
                   min(published_date) AS first_notice_date,
                   max(published_date) AS latest_notice_date,
                   arg_max(notice_type, published_at) AS latest_notice_type,
                   -- Corrections and side notices do not move the process on; the latest stage notice does.
                   arg_max(notice_type, published_at)
                       FILTER (WHERE notice_type NOT IN ('correction', 'complaint', 'supervision', 'other'))
                       AS stage_type,
                   arg_max(title, published_at) FILTER (WHERE notice_type = 'termination') AS termination_title,
                   -- Award and deal notices rarely restate the method; the process keeps the latest one stated.
                   arg_max(procurement_method, published_at) FILTER (WHERE procurement_method IS NOT NULL)
                       AS procurement_method,
                   arg_max(procurement_method_zh, published_at) FILTER (WHERE procurement_method_zh IS NOT NULL)
                       AS procurement_method_zh,
                   arg_max(budget_cny, published_at) FILTER (WHERE budget_cny IS NOT NULL) AS budget_cny,
                   arg_max(award_cny, published_at)
                       FILTER (WHERE award_cny IS NOT NULL AND notice_type IN ('award', 'deal', 'contract'))
                       AS award_cny,
                   coalesce(list_sort(list_distinct(flatten(list([s.name FOR s IN suppliers IF s.name IS NOT NULL])
                       FILTER (WHERE notice_type IN ('award', 'deal', 'contract'))))), []) AS supplier_names,
                   list(notice_id ORDER BY published_at, notice_id) AS notice_ids,
                   arg_min(url, published_at) AS first_notice_url,
                   arg_max(url, published_at) AS latest_notice_url
            FROM linked GROUP BY ocid
        )
        SELECT ocid, project_code, source, buyer, agency, process_title, process_title_en,
               CASE
                   WHEN stage_type IN ('award', 'deal', 'contract', 'acceptance') THEN 'complete'
                   WHEN stage_type = 'termination'
                       THEN CASE WHEN regexp_matches(coalesce(termination_title, ''), '废标|流标|失败')
                                 THEN 'unsuccessful' ELSE 'cancelled' END
                   WHEN stage_type = 'intent' THEN 'planned'
                   ELSE 'active'
               END AS status,
               latest_notice_type, procurement_method, procurement_method_zh, notice_count, first_notice_at,
               latest_notice_at, first_notice_date, latest_notice_date, budget_cny, award_cny,
               coalesce(award_cny, budget_cny) AS amount_cny,
               CASE WHEN award_cny IS NOT NULL THEN 'award' WHEN budget_cny IS NOT NULL THEN 'budget' END
                   AS amount_kind,
               supplier_names, notice_ids, first_notice_url, latest_notice_url
        FROM processes
        """.replace("{_TITLES_EN}", _TITLES_EN),
    ),
    "watched_supplier_notices": (
        """
        WITH supplied AS (
            SELECT n.source, n.notice_id, unnest(n.suppliers) AS supplier FROM notices n
        )
        SELECT w.name_en AS watched_name_en, w.name_zh AS watched_name, w.why,
               s.supplier.name AS supplier_name, s.supplier.amount_cny AS supplier_amount_cny,
               n.published_at, n.published_date, n.notice_type, n.notice_type_en, n.title, te.title_en, n.buyer,
               coalesce(r.tier, 'none') AS tier, r.categories, n.url, n.source, n.notice_id, n.ocid
        FROM supplied s
        JOIN supplier_watchlist w ON contains(s.supplier.name, w.name_zh)
        JOIN notices n USING (source, notice_id)
        LEFT JOIN match_results r USING (source, notice_id)
        LEFT JOIN ({_TITLES_EN}) te ON te.source = n.source AND te.notice_id = n.notice_id
        """.replace("{_TITLES_EN}", _TITLES_EN),
    ),
    "notices_en": (
        """
        WITH labels AS (
            SELECT map_from_entries(list((term_zh, term_en)) FILTER (WHERE kind = 'method')) AS methods,
                   map_from_entries(list((term_zh, term_en)) FILTER (WHERE kind = 'unit')) AS units
            FROM glossary
        )
        SELECT n.source, n.notice_id, n.ocid, n.published_at, n.published_date, n.title, te.title_en, n.notice_type,
               n.notice_type_en, n.procurement_method, labels.methods[n.procurement_method_zh] AS procurement_method_en,
               n.category AS category_en, n.region_en, n.buyer, n.budget_cny, n.award_cny,
               [{'name': i.name, 'model': i.model, 'quantity': i.quantity, 'unit': i.unit,
                 'unit_en': labels.units[i.unit]} FOR i IN n.items] AS items_en,
               n.url
        FROM notices n CROSS JOIN labels
        LEFT JOIN ({_TITLES_EN}) te ON te.source = n.source AND te.notice_id = n.notice_id
        """.replace("{_TITLES_EN}", _TITLES_EN),
    ),
    "purchases_by_category": (
        """
        WITH hits AS (
            SELECT source, notice_id, category,
                   list_sort(list(DISTINCT model) FILTER (WHERE model IS NOT NULL)) AS models,
                   list_sort(list(DISTINCT quantity::BIGINT || ' ' || coalesce(unit, ''))
                       FILTER (WHERE quantity IS NOT NULL)) AS quantities,
                   max(quantity) FILTER (WHERE unit = 'card') AS cards,
                   list_sort(list(DISTINCT provider) FILTER (WHERE provider IS NOT NULL)) AS providers,
                   max(tokens) AS tokens,
                   min(restricted_since) AS restricted_since,
                   bool_or(after_restriction) AS after_restriction,
                   arg_max(evidence, score) AS top_evidence
            FROM matches WHERE tier IN ('strong', 'review')
            GROUP BY source, notice_id, category
        )
        SELECT h.category, r.tier, n.published_at, n.published_date, n.title, te.title_en, n.notice_type,
               n.notice_type_en, n.buyer,
               [s.name FOR s IN coalesce(n.suppliers, []) IF s.name IS NOT NULL] AS suppliers_named,
               coalesce(n.award_cny, n.budget_cny) AS amount_cny,
               CASE WHEN n.award_cny IS NOT NULL THEN 'award' WHEN n.budget_cny IS NOT NULL THEN 'budget' END
                   AS amount_kind,
               n.budget_cny, n.award_cny,
               h.models, h.quantities, h.cards, h.providers, h.tokens, h.restricted_since, h.after_restriction,
               h.top_evidence, n.project_code, n.ocid, n.region, n.url, n.source, n.notice_id
        FROM hits h
        JOIN match_results r ON r.source = h.source AND r.notice_id = h.notice_id
        JOIN notices n ON n.source = h.source AND n.notice_id = h.notice_id
        LEFT JOIN ({_TITLES_EN}) te ON te.source = n.source AND te.notice_id = n.notice_id
        WHERE r.tier IN ('strong', 'review') AND list_contains(r.categories, h.category)
        """.replace("{_TITLES_EN}", _TITLES_EN),
    ),
    "matched_processes": (
        """
        WITH matched AS (
            SELECT n.ocid, r.tier, r.categories, n.source, n.notice_id, n.published_date
            FROM match_results r JOIN notices n USING (source, notice_id)
            WHERE r.tier IN ('strong', 'review') AND n.ocid IS NOT NULL
        ), hits AS (
            SELECT n.ocid,
                   list_sort(list(DISTINCT m.model) FILTER (WHERE m.model IS NOT NULL)) AS models,
                   -- The tender and the award of one purchase name the same cards: the largest count, not a sum.
                   max(m.quantity) FILTER (WHERE m.unit = 'card') AS cards,
                   list_sort(list(DISTINCT m.provider) FILTER (WHERE m.provider IS NOT NULL)) AS providers,
                   max(m.tokens) AS tokens
            FROM matches m JOIN matched n USING (source, notice_id)
            WHERE m.tier IN ('strong', 'review')
            GROUP BY n.ocid
        ), processes AS (
            SELECT ocid, CASE WHEN bool_or(tier = 'strong') THEN 'strong' ELSE 'review' END AS tier,
                   list_sort(list_distinct(flatten(list(categories)))) AS categories,
                   min(published_date) AS first_matched_date,
                   list(notice_id ORDER BY published_date, notice_id) AS matched_notice_ids
            FROM matched GROUP BY ocid
        )
        SELECT p.ocid, p.tier, p.categories, pr.buyer, pr.process_title, pr.process_title_en, pr.status,
               pr.amount_cny, pr.amount_kind, pr.budget_cny, pr.award_cny, pr.supplier_names, h.models, h.cards,
               h.providers, h.tokens, p.first_matched_date, pr.first_notice_date, pr.latest_notice_date,
               p.matched_notice_ids, pr.notice_ids, pr.latest_notice_url
        FROM processes p
        JOIN procurement_processes pr USING (ocid)
        LEFT JOIN hits h USING (ocid)
        """,
    ),
}
REFERENCE_VIEWS = {name: sql for name, (sql,) in _VIEWS.items()}
