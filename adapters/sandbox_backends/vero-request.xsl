<?xml version="1.0" encoding="UTF-8"?>
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:tns="http://vero.sandbox.sild.eu/producer"
    xmlns="urn:fi:vero:verotiedot:legacy"
    exclude-result-prefixes="tns">
  <xsl:template match="/tns:getTaxRecord">
    <TaxRecordRequest>
      <Hetu><xsl:value-of select="normalize-space(tns:personCode)"/></Hetu>
      <xsl:if test="tns:year">
        <Year><xsl:value-of select="tns:year"/></Year>
      </xsl:if>
    </TaxRecordRequest>
  </xsl:template>
</xsl:stylesheet>
