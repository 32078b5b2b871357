<?xml version="1.0" encoding="UTF-8"?>
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:tns="http://vero.sandbox.sild.eu/producer"
    xmlns:v="urn:fi:vero:verotiedot:legacy"
    exclude-result-prefixes="v">
  <xsl:template match="/v:TaxRecordResponse">
    <tns:getTaxRecordResponse>
      <xsl:choose>
        <xsl:when test="v:Status = 'OK'">
          <xsl:variable name="r" select="v:TaxRecord"/>
          <tns:found>true</tns:found>
          <tns:taxRecord>
            <tns:personCode><xsl:value-of select="$r/v:Hetu"/></tns:personCode>
            <tns:name><xsl:value-of select="$r/v:Name"/></tns:name>
            <tns:municipality><xsl:value-of select="$r/v:Municipality"/></tns:municipality>
            <tns:year><xsl:value-of select="$r/v:TaxYear"/></tns:year>
            <tns:earnedIncome><xsl:value-of select="$r/v:EarnedIncome"/></tns:earnedIncome>
            <tns:capitalIncome><xsl:value-of select="$r/v:CapitalIncome"/></tns:capitalIncome>
            <tns:taxRate><xsl:value-of select="$r/v:TaxRate"/></tns:taxRate>
            <tns:taxesPaid><xsl:value-of select="$r/v:TaxesPaid"/></tns:taxesPaid>
          </tns:taxRecord>
        </xsl:when>
        <xsl:otherwise>
          <tns:found>false</tns:found>
        </xsl:otherwise>
      </xsl:choose>
    </tns:getTaxRecordResponse>
  </xsl:template>
</xsl:stylesheet>
