"""The real ccgp detail pages in ../shared/fixtures/real/ccgp, and the URL each is read under."""

DYLY = "ccgp/compass_ccgp_detail_dyly.html"
GUANGDONG = "ccgp/aiting_ccgp_detail_guangdong_zbjg.html"
TIANJIN_AWARD = "ccgp/medicalchannelai_ccgp_award_tianjin_single_package.html"
TIANJIN_WORKS = "ccgp/medicalchannelai_ccgp_cjgg_tianjin_works_trimmed.html"
BEIJING_CORRECTION = "ccgp/medicalchannelai_ccgp_gzgg_beijing_correction_full.html"
HEILONGJIANG_CORRECTION = "ccgp/medicalchannelai_ccgp_gzgg_heilongjiang_correction_noticeArea_full.html"
PUMCH = "ccgp/medicalchannelai_ccgp_zygg_zbgg_beijing_pumch_full.html"
FAILED_BID = "ccgp/medicalchannelai_ccgp_zzgg_beijing_failed_bid_full.html"

# Plausible URLs of each page's column; the Tianjin ones are the real addresses given in PROVENANCE.md.
URLS = {
    DYLY: "https://www.ccgp.gov.cn/cggg/zygg/qtgg/202607/t20260703_26871783.htm",
    GUANGDONG: "https://www.ccgp.gov.cn/cggg/dfgg/zbgg/202505/t20250527_24631234.htm",
    TIANJIN_AWARD: "https://www.ccgp.gov.cn/cggg/dfgg/zbgg/202609/t20260928_27412423.htm",
    TIANJIN_WORKS: "https://www.ccgp.gov.cn/cggg/dfgg/cjgg/202609/t20260928_27411167.htm",
    BEIJING_CORRECTION: "https://www.ccgp.gov.cn/cggg/dfgg/gzgg/202609/t20260924_27390001.htm",
    HEILONGJIANG_CORRECTION: "https://www.ccgp.gov.cn/cggg/dfgg/gzgg/202609/t20260928_27410002.htm",
    PUMCH: "https://www.ccgp.gov.cn/cggg/zygg/zbgg/202609/t20260929_27420003.htm",
    FAILED_BID: "https://www.ccgp.gov.cn/cggg/dfgg/fblbgg/202609/t20260924_27390004.htm",
}
