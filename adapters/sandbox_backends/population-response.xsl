<?xml version="1.0" encoding="UTF-8"?>
<!-- The register's RPC answer (multiRefs already inlined by the adapter) to getPersonResponse. -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:tns="http://population.sandbox.sild.eu/producer"
    xmlns:rr="urn:ee:rahvastikuregister:legacy"
    exclude-result-prefixes="rr">
  <xsl:template match="/rr:getPersonResponse">
    <tns:getPersonResponse>
      <xsl:choose>
        <xsl:when test="return/isikukood">
          <xsl:variable name="p" select="return"/>
          <tns:found>true</tns:found>
          <tns:person>
            <tns:personCode><xsl:value-of select="$p/isikukood"/></tns:personCode>
            <tns:givenName><xsl:value-of select="$p/eesnimi"/></tns:givenName>
            <tns:familyName><xsl:value-of select="$p/perenimi"/></tns:familyName>
            <tns:dateOfBirth><xsl:value-of select="$p/synniaeg"/></tns:dateOfBirth>
            <tns:gender>
              <xsl:choose>
                <xsl:when test="$p/sugu = 'N'">F</xsl:when>
                <xsl:otherwise><xsl:value-of select="$p/sugu"/></xsl:otherwise>
              </xsl:choose>
            </tns:gender>
            <tns:citizenship><xsl:value-of select="$p/kodakondsus"/></tns:citizenship>
            <tns:address>
              <tns:county><xsl:value-of select="$p/elukoht/maakond"/></tns:county>
              <tns:settlement><xsl:value-of select="$p/elukoht/asula"/></tns:settlement>
              <tns:street><xsl:value-of select="$p/elukoht/aadress"/></tns:street>
            </tns:address>
          </tns:person>
        </xsl:when>
        <xsl:otherwise>
          <tns:found>false</tns:found>
        </xsl:otherwise>
      </xsl:choose>
    </tns:getPersonResponse>
  </xsl:template>
</xsl:stylesheet>
